// Renders /api/openapi.json as a plain list of operations: method, path, summary, auth,
// parameters, request body and responses, with schemas shown as JSON. No dependencies.
(function () {
  "use strict";

  var METHODS = ["get", "post", "put", "patch", "delete"];

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (key) {
      node.setAttribute(key, attrs[key]);
    });
    (children || []).forEach(function (child) {
      node.appendChild(typeof child === "string" ? document.createTextNode(child) : child);
    });
    return node;
  }

  function refName(schema) {
    return schema && schema.$ref ? schema.$ref.split("/").pop() : null;
  }

  function schemaBlock(schema) {
    var name = refName(schema);
    if (name) {
      return el("a", { href: "#schema-" + name }, [name]);
    }
    return el("pre", {}, [JSON.stringify(schema, null, 2)]);
  }

  function security(op, doc) {
    var reqs = op.security !== undefined ? op.security : doc.security || [];
    if (!reqs.length) {
      return "no key needed";
    }
    var names = reqs.map(function (r) { return Object.keys(r).join(" + "); });
    var text = "API key: " + names.join(" or ");
    if (op["x-required-scope"]) {
      text += " (scope " + op["x-required-scope"] + ")";
    }
    return text;
  }

  function parameters(op) {
    var params = op.parameters || [];
    if (!params.length) {
      return null;
    }
    var rows = params.map(function (p) {
      return el("tr", {}, [
        el("td", {}, [el("code", {}, [p.name])]),
        el("td", {}, [p.in + (p.required ? ", required" : "")]),
        el("td", {}, [el("code", {}, [JSON.stringify(p.schema)])]),
        el("td", {}, [p.description || ""]),
      ]);
    });
    var head = el("tr", {}, ["Name", "In", "Schema", ""].map(function (h) {
      return el("th", {}, [h]);
    }));
    return el("table", {}, [el("thead", {}, [head]), el("tbody", {}, rows)]);
  }

  function body(op) {
    var rb = op.requestBody;
    if (!rb) {
      return null;
    }
    var media = rb.content && rb.content["application/json"];
    return el("div", {}, [
      el("h4", {}, ["Request body" + (rb.required ? "" : " (optional)")]),
      schemaBlock(media ? media.schema : {}),
    ]);
  }

  function responses(op) {
    var items = Object.keys(op.responses || {}).map(function (status) {
      var r = op.responses[status];
      var media = r.content && r.content["application/json"];
      var children = [el("strong", {}, [status]), " " + (r.description || "") + " "];
      if (media) {
        children.push(schemaBlock(media.schema));
      }
      return el("li", {}, children);
    });
    return el("div", {}, [el("h4", {}, ["Responses"]), el("ul", {}, items)]);
  }

  function operation(doc, path, method, op) {
    var id = (method + path).replace(/[^A-Za-z0-9]+/g, "-");
    var parts = [
      el("h3", { id: id }, [el("code", {}, [method.toUpperCase() + " " + path])]),
      el("p", {}, [op.summary || ""]),
      el("p", {}, [el("em", {}, [security(op, doc)])]),
    ];
    [parameters(op), body(op), responses(op)].forEach(function (part) {
      if (part) {
        parts.push(part);
      }
    });
    return el("section", { class: "api-operation" }, parts);
  }

  function render(doc, root) {
    root.textContent = "";
    var info = doc.info || {};
    root.appendChild(el("p", {}, [(info.title || "") + " " + (info.version || "") +
      " (OpenAPI " + doc.openapi + ")"]));
    if (info.description) {
      root.appendChild(el("p", {}, [info.description]));
    }
    var byTag = {};
    Object.keys(doc.paths || {}).forEach(function (path) {
      METHODS.forEach(function (method) {
        var op = doc.paths[path][method];
        if (op) {
          var tag = (op.tags && op.tags[0]) || "other";
          (byTag[tag] = byTag[tag] || []).push([path, method, op]);
        }
      });
    });
    Object.keys(byTag).forEach(function (tag) {
      root.appendChild(el("h2", {}, [tag]));
      byTag[tag].forEach(function (entry) {
        root.appendChild(operation(doc, entry[0], entry[1], entry[2]));
      });
    });
    var schemas = (doc.components && doc.components.schemas) || {};
    root.appendChild(el("h2", {}, ["Schemas"]));
    Object.keys(schemas).forEach(function (name) {
      root.appendChild(el("section", { class: "api-schema" }, [
        el("h3", { id: "schema-" + name }, [name]),
        el("pre", {}, [JSON.stringify(schemas[name], null, 2)]),
      ]));
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var root = document.getElementById("api-docs");
    var source = document.getElementById("api-docs-source");
    fetch(source.getAttribute("href"), { headers: { Accept: "application/json" } })
      .then(function (response) {
        if (!response.ok) {
          throw new Error("HTTP " + response.status);
        }
        return response.json();
      })
      .then(function (doc) { render(doc, root); })
      .catch(function (err) {
        root.textContent = "Could not load the API document: " + err.message;
      });
  });
})();
