package aiproviders

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strings"
)

// ---------------------------------------------------------------- OpenAI
//
// Check: GET /v1/models with "Authorization: Bearer <key>" — lists the
// models the key may use and bills nothing
// (https://platform.openai.com/docs/api-reference/models/list).
// Errors (https://platform.openai.com/docs/guides/error-codes) are
// {"error": {"message", "type", "param", "code"}}: 401 invalid or revoked
// key (code invalid_api_key), 403 unsupported country/region, 429 either
// "Rate limit reached" (rate_limit_exceeded) or "You exceeded your current
// quota" (type/code insufficient_quota), 500/503 server errors.

type openAIError struct {
	Error *struct {
		Message string `json:"message"`
		Type    string `json:"type"`
		Code    any    `json:"code"`
	} `json:"error"`
}

func openAIProbe(base, key string) probe {
	return probe{
		request: func(ctx context.Context) (*http.Request, error) {
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(base, "/")+"/v1/models", nil)
			if err != nil {
				return nil, err
			}
			req.Header.Set("Authorization", "Bearer "+key)
			req.Header.Set("Accept", "application/json")
			return req, nil
		},
		classify: func(status int, _ http.Header, body []byte) *Failure {
			if status == http.StatusOK {
				var ok struct {
					Object string            `json:"object"`
					Data   []json.RawMessage `json:"data"`
				}
				if decodeJSON(body, &ok) && ok.Object == "list" {
					return nil
				}
				return &Failure{Code: CodeUnexpectedResponse, Message: "OpenAI answered 200 without a model list."}
			}
			var e openAIError
			code, typ, msg := "", "", ""
			if decodeJSON(body, &e) && e.Error != nil {
				typ, msg = e.Error.Type, e.Error.Message
				if s, ok := e.Error.Code.(string); ok {
					code = s
				}
			}
			providerCode := code
			if providerCode == "" {
				providerCode = typ
			}
			if status == http.StatusTooManyRequests && (code == "insufficient_quota" || typ == "insufficient_quota") {
				return &Failure{Code: CodeInsufficientQuota, ProviderCode: providerCode, Message: msg,
					Hint: "The OpenAI account has run out of credits or hit its monthly spend limit: add credits or raise the limit."}
			}
			return byStatus(status, providerCode, msg)
		},
	}
}

// ------------------------------------------------------------- Anthropic
//
// Check: GET /v1/models with "x-api-key: <key>" and "anthropic-version:
// 2023-06-01" (https://docs.anthropic.com/en/api/models-list); free.
// Errors (https://docs.anthropic.com/en/api/errors) are
// {"type": "error", "error": {"type", "message"}}: 400
// invalid_request_error (also how a too-low credit balance is reported),
// 401 authentication_error, 402 billing_error, 403 permission_error, 429
// rate_limit_error (with retry-after), 500 api_error, 529 overloaded_error.

// AnthropicVersion is the API version header sent.
const AnthropicVersion = "2023-06-01"

type anthropicError struct {
	Type  string `json:"type"`
	Error *struct {
		Type    string `json:"type"`
		Message string `json:"message"`
	} `json:"error"`
}

func anthropicProbe(base, key string) probe {
	return probe{
		request: func(ctx context.Context) (*http.Request, error) {
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(base, "/")+"/v1/models?limit=1", nil)
			if err != nil {
				return nil, err
			}
			req.Header.Set("x-api-key", key)
			req.Header.Set("anthropic-version", AnthropicVersion)
			req.Header.Set("Accept", "application/json")
			return req, nil
		},
		classify: func(status int, _ http.Header, body []byte) *Failure {
			if status == http.StatusOK {
				var ok struct {
					Data []json.RawMessage `json:"data"`
				}
				if decodeJSON(body, &ok) && ok.Data != nil {
					return nil
				}
				return &Failure{Code: CodeUnexpectedResponse, Message: "Anthropic answered 200 without a model list."}
			}
			var e anthropicError
			typ, msg := "", ""
			if decodeJSON(body, &e) && e.Error != nil {
				typ, msg = e.Error.Type, e.Error.Message
			}
			switch {
			case typ == "billing_error",
				typ == "invalid_request_error" && strings.Contains(strings.ToLower(msg), "credit balance"):
				return &Failure{Code: CodeInsufficientQuota, ProviderCode: typ, Message: msg,
					Hint: "Add credits in the Anthropic Console's billing settings."}
			case typ == "authentication_error":
				return byStatus(http.StatusUnauthorized, typ, msg)
			case typ == "permission_error":
				return byStatus(http.StatusForbidden, typ, msg)
			case typ == "rate_limit_error":
				return byStatus(http.StatusTooManyRequests, typ, msg)
			case typ == "overloaded_error", typ == "api_error":
				return byStatus(http.StatusServiceUnavailable, typ, msg)
			}
			return byStatus(status, typ, msg)
		},
	}
}

// --------------------------------------------------------------- Runware
//
// Check: POST /v1 with the authentication task
// [{"taskType": "authentication", "apiKey": "<key>"}], the documented way to
// authenticate a connection; it runs no inference
// (https://runware.ai/docs/platform/authentication). Success is
// {"data": [{"taskType": "authentication", "connectionSessionUUID": …}]}.
// Errors (https://runware.ai/docs/platform/errors) are {"errors": [{"code",
// "message", "parameter", "taskType", "taskUUID"}]} (e.g. invalidApiKey)
// with HTTP 400, 401 (no valid key), 402 (balance insufficient), 403, 429,
// 5xx.

type runwareAnswer struct {
	Data []struct {
		TaskType              string `json:"taskType"`
		ConnectionSessionUUID string `json:"connectionSessionUUID"`
	} `json:"data"`
	Errors []struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"errors"`
}

func runwareProbe(base, key string) probe {
	return probe{
		request: func(ctx context.Context) (*http.Request, error) {
			body, err := json.Marshal([]map[string]string{{"taskType": "authentication", "apiKey": key}})
			if err != nil {
				return nil, err
			}
			req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimRight(base, "/")+"/v1", bytes.NewReader(body))
			if err != nil {
				return nil, err
			}
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Accept", "application/json")
			return req, nil
		},
		classify: func(status int, _ http.Header, body []byte) *Failure {
			var a runwareAnswer
			isJSON := decodeJSON(body, &a)
			if status == http.StatusOK && isJSON && len(a.Errors) == 0 {
				for _, d := range a.Data {
					if d.TaskType == "authentication" && d.ConnectionSessionUUID != "" {
						return nil
					}
				}
				return &Failure{Code: CodeUnexpectedResponse, Message: "Runware answered 200 without an authenticated session."}
			}
			code, msg := "", ""
			if len(a.Errors) > 0 {
				code, msg = a.Errors[0].Code, a.Errors[0].Message
			}
			lc := strings.ToLower(code)
			switch {
			case lc == "invalidapikey" || strings.Contains(lc, "apikey"):
				return byStatus(http.StatusUnauthorized, code, msg)
			case strings.Contains(lc, "credit") || strings.Contains(lc, "balance"):
				return byStatus(http.StatusPaymentRequired, code, msg)
			}
			if status == http.StatusOK {
				status = http.StatusBadRequest // errors in a 200: not a documented success
			}
			return byStatus(status, code, msg)
		},
	}
}

// ------------------------------------------------------------------ Bria
//
// Bria documents no account or key-check endpoint. Every request carries
// the key in the "api_token" header (https://docs.bria.ai/getting-started/authentication),
// and the cheapest authenticated call is the free status lookup
// GET /v2/status/{request_id} (https://docs.bria.ai/status). Asked about a
// request that cannot exist (the nil UUID), an accepted key gets the API's
// own JSON 404 (or 200), a refused key 401/403. Rate limits
// (https://docs.bria.ai/getting-started/rate-limits-and-errors) are 429
// with Retry-After. Bria's error bodies are JSON whose message we read from
// error.message, message or detail, whichever is present.

const briaProbeRequestID = "00000000-0000-0000-0000-000000000000"

func briaProbe(base, key string) probe {
	return probe{
		request: func(ctx context.Context) (*http.Request, error) {
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(base, "/")+"/v2/status/"+briaProbeRequestID, nil)
			if err != nil {
				return nil, err
			}
			req.Header.Set("api_token", key)
			req.Header.Set("Accept", "application/json")
			return req, nil
		},
		classify: func(status int, _ http.Header, body []byte) *Failure {
			var e struct {
				Error   json.RawMessage `json:"error"`
				Message string          `json:"message"`
				Detail  any             `json:"detail"`
			}
			isJSON := decodeJSON(body, &e)
			if (status == http.StatusOK || status == http.StatusNotFound) && isJSON {
				return nil
			}
			msg, code := e.Message, ""
			var inner struct {
				Code    any    `json:"code"`
				Message string `json:"message"`
			}
			if len(e.Error) > 0 && json.Unmarshal(e.Error, &inner) == nil {
				if inner.Message != "" {
					msg = inner.Message
				}
				if s, ok := inner.Code.(string); ok {
					code = s
				}
			} else if len(e.Error) > 0 {
				var s string
				if json.Unmarshal(e.Error, &s) == nil && msg == "" {
					msg = s
				}
			}
			if d, ok := e.Detail.(string); ok && msg == "" {
				msg = d
			}
			if status == http.StatusNotFound {
				return &Failure{Code: CodeUnexpectedResponse, Message: "Bria answered 404 without a JSON body: check BRIA_BASE_URL."}
			}
			return byStatus(status, code, msg)
		},
	}
}
