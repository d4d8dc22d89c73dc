package httpapi

// routes is the whole API surface. Every route here must also be an HttpApi
// event of ApiFunction in template.yaml (the template test checks both ways).
// Paths use API Gateway's template syntax and keep the seed's trailing
// slashes.
func (s *Server) routes() []route {
	return []route{
		{Method: "GET", Path: "/api/v1/health", Auth: Public, Handler: s.handleHealth},

		{Method: "GET", Path: "/api/v1/integration/", Auth: AccountMember, Handler: s.handleListIntegrations},
	}
}
