// /api/docs: Swagger UI (static/vendor, from npm's swagger-ui-dist) on /api/openapi.json.
// A file rather than an inline script: the CSP allows scripts from this origin only.
document.addEventListener("DOMContentLoaded", () => {
  const root = document.getElementById("api-docs");
  window.SwaggerUIBundle({
    url: root.dataset.url,
    domNode: root,
    deepLinking: true,
    validatorUrl: "none",  // never send the document to another host to validate it
  });
});
