// Starts Swagger UI with FastAPI's default options, sending a signed-in person's token (sign-in.js) unless the
// Authorize dialog set one; a file of its own so that the page's Content-Security-Policy allows no inline script.
SwaggerUIBundle({
  url: document.currentScript.dataset.openapi,
  dom_id: "#swagger-ui",
  layout: "BaseLayout",
  deepLinking: true,
  showExtensions: true,
  showCommonExtensions: true,
  requestInterceptor: (request) => {
    const token = window.explorerSignIn && window.explorerSignIn.accessToken();
    if (token && !request.headers.Authorization) request.headers.Authorization = "Bearer " + token;
    return request;
  },
  validatorUrl: null, // Swagger UI would otherwise ask validator.swagger.io about the document
  presets: [SwaggerUIBundle.presets.apis, SwaggerUIBundle.SwaggerUIStandalonePreset],
});
