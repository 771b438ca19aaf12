// Starts Swagger UI with FastAPI's default options; a file of its own so that the page's
// Content-Security-Policy allows no inline script.
SwaggerUIBundle({
  url: document.currentScript.dataset.openapi,
  dom_id: "#swagger-ui",
  layout: "BaseLayout",
  deepLinking: true,
  showExtensions: true,
  showCommonExtensions: true,
  validatorUrl: null, // Swagger UI would otherwise ask validator.swagger.io about the document
  presets: [SwaggerUIBundle.presets.apis, SwaggerUIBundle.SwaggerUIStandalonePreset],
});
