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
	}
}
