package store

import (
	"context"
	"errors"
	"slices"
	"testing"
)

func TestAISettingsVersioning(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	if _, err := e.s.GetAISettings(ctx); !errors.Is(err, ErrNotFound) {
		t.Fatalf("before the first save: %v, want ErrNotFound", err)
	}
	first, err := e.s.PutAISettings(ctx, AISettings{DefaultTextModel: "gpt-4o-mini", Keys: map[string]ProviderKey{"openai": {Last4: "abcd", UpdatedAt: e.clock.Now()}}})
	if err != nil || first.Version != 1 {
		t.Fatalf("first save: %+v %v", first, err)
	}
	// A second "first save" (a concurrent admin) loses.
	if _, err := e.s.PutAISettings(ctx, AISettings{DefaultTextModel: "gpt-4o"}); !errors.Is(err, ErrPreconditionFailed) {
		t.Fatalf("a second save at version 0: %v, want ErrPreconditionFailed", err)
	}
	got, err := e.s.GetAISettings(ctx)
	if err != nil || got.Version != 1 || got.DefaultTextModel != "gpt-4o-mini" || got.Keys["openai"].Last4 != "abcd" || got.Keys["openai"].UpdatedAt.IsZero() {
		t.Fatalf("read back: %+v %v", got, err)
	}
	got.DefaultTextModel = "claude-3-haiku"
	delete(got.Keys, "openai")
	second, err := e.s.PutAISettings(ctx, got)
	if err != nil || second.Version != 2 {
		t.Fatalf("save at version 1: %+v %v", second, err)
	}
	if _, err := e.s.PutAISettings(ctx, got); !errors.Is(err, ErrPreconditionFailed) {
		t.Fatalf("a stale save: %v", err)
	}
	if final, _ := e.s.GetAISettings(ctx); len(final.Keys) != 0 || final.DefaultTextModel != "claude-3-haiku" {
		t.Fatalf("final: %+v", final)
	}
}

func TestModelsRoundTripAndLoadInOneQuery(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	models := []Model{
		{ID: "b-text", Provider: "openai", Type: "text", DisplayName: "B", InputUSDPerMillionTokens: "0.15", OutputUSDPerMillionTokens: "0.60",
			ContextWindow: 128000, MaxOutputTokens: 16384, Active: true, PriceSource: "s", PriceDate: "2026-11-28"},
		{ID: "a-image", Provider: "bria", Type: "image", DisplayName: "A", ImagePrices: []ImagePrice{{Size: "1024x1024", Quality: "hd", USDPerImage: "0.040"}},
			DefaultSize: "1024x1024", DefaultQuality: "hd", Active: false, Deprecated: true, PriceSource: "s", PriceDate: "2026-11-28", PriceNote: "n"},
	}
	if n, err := e.s.SeedModels(ctx, models, 3); err != nil || n != 2 {
		t.Fatalf("seed: %d %v", n, err)
	}
	e.calls.Reset()
	set, err := e.s.LoadModels(ctx)
	if err != nil || set.SeedVersion != 3 || len(set.Models) != 2 {
		t.Fatalf("load: %+v %v", set, err)
	}
	if got := e.calls.Snapshot(); got["Query"] != 1 || e.calls.Total() != 1 {
		t.Fatalf("loading the registry made %v, want one Query", got)
	}
	// Sorted by key: a-image first. Every field survives the round trip.
	for i, want := range []Model{models[1], models[0]} {
		got := set.Models[i]
		if got.SeedVersion != 3 || got.EditedByAdmin || got.UpdatedAt.IsZero() {
			t.Errorf("%s bookkeeping: %+v", got.ID, got)
		}
		got.SeedVersion, got.UpdatedAt = 0, want.UpdatedAt
		if got.ID != want.ID || got.InputUSDPerMillionTokens != want.InputUSDPerMillionTokens || got.OutputUSDPerMillionTokens != want.OutputUSDPerMillionTokens ||
			got.ContextWindow != want.ContextWindow || got.MaxOutputTokens != want.MaxOutputTokens || !slices.Equal(got.ImagePrices, want.ImagePrices) ||
			got.DefaultSize != want.DefaultSize || got.DefaultQuality != want.DefaultQuality || got.Active != want.Active || got.Deprecated != want.Deprecated ||
			got.PriceNote != want.PriceNote || got.DisplayName != want.DisplayName || got.Provider != want.Provider || got.Type != want.Type {
			t.Errorf("round trip of %s:\n got %+v\nwant %+v", want.ID, got, want)
		}
	}
	if m, err := e.s.GetModel(ctx, "b-text"); err != nil || m.InputUSDPerMillionTokens != "0.15" {
		t.Fatalf("get: %+v %v", m, err)
	}
	if _, err := e.s.GetModel(ctx, "nope"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("get a missing model: %v", err)
	}
	if _, err := e.s.PutModel(ctx, Model{ID: "x"}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("put without provider and type: %v", err)
	}
}

func TestSeedModelsIsIdempotentAndKeepsAdminEdits(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	seed := []Model{
		{ID: "m1", Provider: "openai", Type: "text", DisplayName: "M1", InputUSDPerMillionTokens: "1", OutputUSDPerMillionTokens: "2", ContextWindow: 10, MaxOutputTokens: 5, Active: true},
		{ID: "m2", Provider: "openai", Type: "text", DisplayName: "M2", InputUSDPerMillionTokens: "1", OutputUSDPerMillionTokens: "2", ContextWindow: 10, MaxOutputTokens: 5, Active: true},
	}
	if n, err := e.s.SeedModels(ctx, seed, 1); err != nil || n != 2 {
		t.Fatalf("first seed: %d %v", n, err)
	}
	if n, err := e.s.SeedModels(ctx, seed, 1); err != nil || n != 0 {
		t.Fatalf("same seed again: %d %v, want 0 writes", n, err)
	}
	edited := seed[0]
	edited.InputUSDPerMillionTokens = "0.5"
	if _, err := e.s.PutModel(ctx, edited); err != nil {
		t.Fatal(err)
	}
	v2 := []Model{seed[0], seed[1]}
	v2[0].InputUSDPerMillionTokens, v2[1].InputUSDPerMillionTokens = "9", "9"
	if n, err := e.s.SeedModels(ctx, v2, 2); err != nil || n != 1 {
		t.Fatalf("seed version 2: %d %v, want 1 write (m2)", n, err)
	}
	if n, err := e.s.SeedModels(ctx, seed, 1); err != nil || n != 0 {
		t.Fatalf("an older seed: %d %v, want 0 writes", n, err)
	}
	set, err := e.s.LoadModels(ctx)
	if err != nil || set.SeedVersion != 2 {
		t.Fatalf("marker %d %v, want 2", set.SeedVersion, err)
	}
	got := map[string]Model{}
	for _, m := range set.Models {
		got[m.ID] = m
	}
	if m := got["m1"]; m.InputUSDPerMillionTokens != "0.5" || !m.EditedByAdmin {
		t.Errorf("admin-edited m1: %+v", m)
	}
	if m := got["m2"]; m.InputUSDPerMillionTokens != "9" || m.SeedVersion != 2 {
		t.Errorf("unedited m2: %+v", m)
	}
}
