/* Package autocomplete for every input[data-autocomplete] (ARIA 1.2 combobox with a listbox).
 *
 * Plain JavaScript, no build step. As you type, /api/v1/search/suggest is queried (debounced,
 * stale answers dropped); ArrowDown/ArrowUp move through the options, Enter opens the chosen
 * package (or submits the search when none is chosen), Escape closes the list, and a click
 * on an option opens it. Text is inserted with textContent only, never as HTML.
 */
(function () {
  "use strict";

  var DEBOUNCE_MS = 120;
  var LIMIT = 8;

  function packageUrl(item) {
    // A Python project's page is its Simple API page, as the search results link it; npm
    // packages have their packument under /npm/; native ones their page under /packages/.
    // Keep the scope's "@" and "/" literal: /packages/@scope/name
    var path = encodeURIComponent(item.name).replace(/%40/g, "@").replace(/%2F/gi, "/");
    if (item.format === "pypi") {
      return "/simple/" + path + "/";
    }
    if (item.format === "npm") {
      return "/npm/" + encodeURIComponent(item.name).replace(/%40/g, "@");
    }
    return "/packages/" + path;
  }

  function span(className, text) {
    var el = document.createElement("span");
    el.className = className;
    el.textContent = text;
    return el;
  }

  function setup(input) {
    var listbox = document.getElementById(input.getAttribute("aria-controls"));
    var status = input.parentNode.querySelector("[data-autocomplete-status]");
    if (!listbox) {
      return;
    }
    var timer = null;
    var controller = null;
    var sequence = 0;
    var items = [];
    var active = -1;

    function announce(text) {
      if (status) {
        status.textContent = text;
      }
    }

    function close() {
      listbox.hidden = true;
      input.setAttribute("aria-expanded", "false");
      input.removeAttribute("aria-activedescendant");
      active = -1;
    }

    function open() {
      listbox.hidden = false;
      input.setAttribute("aria-expanded", "true");
    }

    function highlight(index) {
      var options = listbox.querySelectorAll("[role=option]");
      active = index;
      for (var i = 0; i < options.length; i++) {
        options[i].setAttribute("aria-selected", i === index ? "true" : "false");
      }
      if (index >= 0 && options[index]) {
        input.setAttribute("aria-activedescendant", options[index].id);
        options[index].scrollIntoView({ block: "nearest" });
      } else {
        input.removeAttribute("aria-activedescendant");
      }
    }

    function go(index) {
      var item = items[index];
      if (item) {
        close();
        window.location.assign(packageUrl(item));
      }
    }

    function option(item, index) {
      var li = document.createElement("li");
      li.id = listbox.id + "-option-" + index;
      li.setAttribute("role", "option");
      li.setAttribute("aria-selected", "false");
      li.appendChild(span("option-name", item.name));
      var meta = [];
      if (item.latest_version) { meta.push(item.latest_version); }
      if (item.deprecated) { meta.push("deprecated"); }
      if (item.quarantined) { meta.push("quarantined"); }
      if (item.has_advisories) { meta.push("advisories"); }
      if (typeof item.downloads === "number") {
        meta.push(item.downloads.toLocaleString("en") +
                  (item.downloads === 1 ? " download" : " downloads"));
      }
      li.appendChild(span("option-meta", meta.join(" · ")));
      if (item.description) {
        li.appendChild(span("option-desc", item.description));
      }
      // mousedown would blur the input (which closes the list) before the click lands.
      li.addEventListener("mousedown", function (event) { event.preventDefault(); });
      li.addEventListener("click", function () { go(index); });
      return li;
    }

    function render(suggestions) {
      items = suggestions;
      active = -1;
      listbox.textContent = "";
      input.removeAttribute("aria-activedescendant");
      if (!items.length) {
        close();
        announce("No suggestions");
        return;
      }
      for (var i = 0; i < items.length; i++) {
        listbox.appendChild(option(items[i], i));
      }
      open();
      announce(items.length + (items.length === 1 ? " suggestion" : " suggestions") +
               " available");
    }

    function fetchSuggestions(query) {
      if (controller) {
        controller.abort();
      }
      controller = new AbortController();
      var mine = ++sequence;
      var url = "/api/v1/search/suggest?limit=" + LIMIT + "&q=" + encodeURIComponent(query);
      fetch(url, { signal: controller.signal, headers: { Accept: "application/json" } })
        .then(function (response) { return response.ok ? response.json() : { suggestions: [] }; })
        .then(function (data) {
          // Drop answers to an older prefix: only the latest keystroke counts.
          if (mine !== sequence || input.value.trim() !== query) {
            return;
          }
          render(Array.isArray(data.suggestions) ? data.suggestions : []);
        })
        .catch(function () { /* aborted or offline: the plain form still works */ });
    }

    function schedule() {
      window.clearTimeout(timer);
      var query = input.value.trim();
      if (!query) {
        sequence++;
        items = [];
        close();
        return;
      }
      timer = window.setTimeout(function () { fetchSuggestions(query); }, DEBOUNCE_MS);
    }

    input.addEventListener("input", schedule);
    input.addEventListener("keydown", function (event) {
      var count = items.length;
      switch (event.key) {
        case "ArrowDown":
          event.preventDefault();
          if (listbox.hidden) {
            if (count) { open(); highlight(0); } else { schedule(); }
          } else {
            highlight(active + 1 >= count ? 0 : active + 1);
          }
          break;
        case "ArrowUp":
          event.preventDefault();
          if (listbox.hidden) {
            if (count) { open(); highlight(count - 1); }
          } else {
            highlight(active <= 0 ? count - 1 : active - 1);
          }
          break;
        case "Enter":
          if (!listbox.hidden && active >= 0) {
            event.preventDefault();
            go(active);
          }
          break;
        case "Escape":
          if (!listbox.hidden) {
            event.preventDefault();
            close();
          }
          break;
        case "Tab":
          close();
          break;
        default:
          break;
      }
    });
    input.addEventListener("blur", close);
  }

  var inputs = document.querySelectorAll("input[data-autocomplete]");
  for (var i = 0; i < inputs.length; i++) {
    setup(inputs[i]);
  }
})();
