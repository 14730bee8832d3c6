// Kept out of the page so the Content-Security-Policy can forbid inline scripts.
window.ui = SwaggerUIBundle({ url: "/api/v1/openapi.json", dom_id: "#swagger-ui" });
