package httpapi

// routes is the whole API surface. Every route here must also be an HttpApi
// event of ApiFunction in template.yaml (the template test checks both ways).
// Paths use API Gateway's template syntax and keep the seed's trailing
// slashes.
func (s *Server) routes() []route {
	return []route{
		{Method: "GET", Path: "/api/v1/health", Auth: Public, Handler: s.handleHealth},

		{Method: "GET", Path: "/api/v1/openapi.json", Auth: Public, Handler: s.handleOpenAPI},

		{Method: "GET", Path: "/api/v1/integration/", Auth: AccountMember, Handler: s.handleListIntegrations},
		{Method: "POST", Path: "/api/v1/integration/", Auth: AccountMember, Handler: s.handleCreateIntegration},
		{Method: "GET", Path: "/api/v1/integration/{id}/", Auth: AccountMember, Handler: s.handleGetIntegration},
		{Method: "PUT", Path: "/api/v1/integration/{id}/", Auth: AccountMember, Handler: s.handleReplaceIntegration},
		{Method: "PATCH", Path: "/api/v1/integration/{id}/", Auth: AccountMember, Handler: s.handlePatchIntegration},
		{Method: "DELETE", Path: "/api/v1/integration/{id}/", Auth: AccountMember, Handler: s.handleDeleteIntegration},
		{Method: "POST", Path: "/api/v1/integration/{id}/test_connection/", Auth: AccountMember, Handler: s.handleTestConnection},
		{Method: "POST", Path: "/api/v1/integration/{id}/test_collection_connection/", Auth: AccountMember, Handler: s.handleTestCollection},
		{Method: "POST", Path: "/api/v1/integration/{id}/update_structure/", Auth: AccountMember, Handler: s.handleUpdateStructure},
		{Method: "GET", Path: "/api/v1/integration/{id}/content_types/", Auth: AccountMember, Handler: s.handleContentTypes},
		{Method: "POST", Path: "/api/v1/integration/{id}/webhook_secret/", Auth: AccountMember, Handler: s.handleRotateWebhookSecret},

		{Method: "POST", Path: "/api/v1/integration/{id}/sync/", Auth: AccountMember, Handler: s.handleStartSync},
		{Method: "GET", Path: "/api/v1/integration/{id}/sync_status/", Auth: AccountMember, Handler: s.handleSyncStatus},
		{Method: "GET", Path: "/api/v1/integration/{id}/sync_health/", Auth: AccountMember, Handler: s.handleSyncHealth},
		{Method: "GET", Path: "/api/v1/integration/{id}/events/", Auth: AccountMember, Handler: s.handleSyncEvents},
		{Method: "POST", Path: "/api/v1/integration/site_sync/", Auth: AccountMember, Handler: s.handleSiteSync},

		{Method: "GET", Path: "/api/v1/content/", Auth: AccountMember, Handler: s.handleListContent},
		{Method: "POST", Path: "/api/v1/content/", Auth: AccountMember, Handler: s.handleCreateContent},
		{Method: "GET", Path: "/api/v1/content/{id}/", Auth: AccountMember, Handler: s.handleGetContent},
		{Method: "PUT", Path: "/api/v1/content/{id}/", Auth: AccountMember, Handler: s.handleUpdateContent},
		{Method: "PATCH", Path: "/api/v1/content/{id}/", Auth: AccountMember, Handler: s.handleUpdateContent},
		{Method: "POST", Path: "/api/v1/content/{id}/approve/", Auth: AccountMember, Handler: s.handleApproveContent},
		{Method: "POST", Path: "/api/v1/content/{id}/publish/", Auth: AccountMember, Handler: s.handlePublishContent},
		{Method: "POST", Path: "/api/v1/content/{id}/resolve_conflict/", Auth: AccountMember, Handler: s.handleResolveConflict},
		{Method: "GET", Path: "/api/v1/sites/{site_id}/taxonomies/", Auth: AccountMember, Handler: s.handleListTaxonomies},
		{Method: "POST", Path: "/api/v1/sites/{site_id}/taxonomies/", Auth: AccountMember, Handler: s.handleCreateTerm},
		{Method: "GET", Path: "/api/v1/sites/{site_id}/images/", Auth: AccountMember, Handler: s.handleListImages},
		{Method: "POST", Path: "/api/v1/sites/{site_id}/images/", Auth: AccountMember, Handler: s.handleCreateImage},

		{Method: "GET", Path: "/api/v1/sites/{site_id}/publishing_settings/", Auth: AccountMember, Handler: s.handleGetPublishingSettings},
		{Method: "PUT", Path: "/api/v1/sites/{site_id}/publishing_settings/", Auth: AccountMember, Handler: s.handleUpdatePublishingSettings},
		{Method: "PATCH", Path: "/api/v1/sites/{site_id}/publishing_settings/", Auth: AccountMember, Handler: s.handleUpdatePublishingSettings},
		{Method: "GET", Path: "/api/v1/sites/{site_id}/publishing_schedule/", Auth: AccountMember, Handler: s.handlePublishingSchedule},

		{Method: "GET", Path: "/api/v1/ai/settings/", Auth: Admin, Handler: s.handleGetAISettings},
		{Method: "PUT", Path: "/api/v1/ai/settings/", Auth: Admin, Handler: s.handleReplaceAISettings},
		{Method: "PATCH", Path: "/api/v1/ai/settings/", Auth: Admin, Handler: s.handlePatchAISettings},
		{Method: "POST", Path: "/api/v1/ai/providers/{provider}/test/", Auth: Admin, Handler: s.handleTestAIProvider},
		{Method: "GET", Path: "/api/v1/ai/models/", Auth: AccountMember, Handler: s.handleListModels},
		{Method: "GET", Path: "/api/v1/ai/models/{id}/", Auth: AccountMember, Handler: s.handleGetModel},
		{Method: "PUT", Path: "/api/v1/ai/models/{id}/", Auth: Admin, Handler: s.handlePutModel},
		{Method: "DELETE", Path: "/api/v1/ai/models/{id}/", Auth: Admin, Handler: s.handleDeactivateModel},
		{Method: "POST", Path: "/api/v1/ai/models/{id}/cost/", Auth: AccountMember, Handler: s.handleModelCost},
	}
}
