// Starts the vendored Swagger UI on the API explorer page (api/apidocs.py): the schema's
// address comes from the page, so the page needs no inline script.
(function () {
  "use strict";
  var root = document.getElementById("swagger-ui");
  window.ui = window.SwaggerUIBundle({
    url: root.dataset.openapi,
    domNode: root,
    deepLinking: true,
  });
})();
