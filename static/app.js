// Holdfast progressive enhancement: every page works without this file.
"use strict";
// The sidebar stays collapsed once collapsed (this browser remembers it). Applied before the
// page is first shown.
const NAV_KEY = "hf-nav";
// A search suggestion's record kind ("Contact"), after its title in `item` (the header's
// suggestions and the command palette show them alike).
const appendKind = (item, link) => {
  const kind = link.parentElement && link.parentElement.querySelector(".muted");
  if (!kind) return;
  const span = document.createElement("span");
  span.className = "muted";
  span.textContent = " " + kind.textContent;
  item.appendChild(span);
};
// The local links of a search-suggestions fragment (`/search/suggest?q=`), parsed inertly:
// only their paths and text are used. Answers [] for a failed answer.
const suggestedLinks = async (url, signal) => {
  const response = await fetch(url, { credentials: "same-origin", signal, redirect: "manual" });
  if (!response.ok) return [];
  const parsed = new DOMParser().parseFromString(await response.text(), "text/html");
  return [...parsed.querySelectorAll("a[href]")].filter((link) => {
    const href = link.getAttribute("href") || "";
    return href.startsWith("/") && !href.startsWith("//");
  });
};
// A searchable picker over a select marked data-picker (a company, a deal's contacts, an
// owner): a combobox that filters the select's options as one types and, for records, adds
// the search index's titles beyond the options the page carried. The select stays in the form,
// hidden, and holds the value; without script it is the plain select.
const picker = (select) => {
  const kind = select.dataset.picker;
  const many = select.multiple;
  const box = document.createElement("span");
  box.className = "picker";
  const input = document.createElement("input");
  input.type = "text";
  input.autocomplete = "off";
  input.setAttribute("role", "combobox");
  input.setAttribute("aria-autocomplete", "list");
  input.setAttribute("aria-expanded", "false");
  const label = select.closest("label");
  if (label && label.firstChild) input.setAttribute("aria-label", label.firstChild.textContent.trim());
  const list = document.createElement("ul");
  list.setAttribute("role", "listbox");
  list.className = "picker-list";
  list.id = "picker-" + select.name;
  list.hidden = true;
  input.setAttribute("aria-controls", list.id);
  // A multiple choice shows what is chosen as removable chips.
  const chips = document.createElement("ul");
  chips.className = "picker-chips";
  box.append(input, list);
  if (many) box.append(chips);
  select.before(box);
  select.hidden = true;
  let found = [];
  let timer = null;
  let pending = null;
  let active = -1;
  const chosen = () => [...select.selectedOptions].filter((o) => o.value);
  const showChosen = () => {
    if (!many) { const o = chosen()[0]; input.value = o ? o.text : ""; return; }
    chips.replaceChildren(...chosen().map((o) => {
      const chip = document.createElement("li");
      chip.textContent = o.text + " ";
      const remove = document.createElement("button");
      remove.type = "button";
      remove.className = "link";
      remove.textContent = "✕";
      remove.setAttribute("aria-label", "Remove " + o.text);
      remove.addEventListener("click", () => { o.selected = false; showChosen(); input.focus(); });
      chip.appendChild(remove);
      return chip;
    }));
  };
  const close = () => { list.hidden = true; input.setAttribute("aria-expanded", "false"); input.removeAttribute("aria-activedescendant"); active = -1; };
  const choose = (value, text) => {
    let option = [...select.options].find((o) => o.value === value);
    if (!option) { option = new Option(text, value); select.add(option); }
    if (many) option.selected = true; else select.value = value;
    input.value = "";
    showChosen();
    close();
  };
  const activate = (i) => {
    const items = [...list.children];
    active = items.length ? (i + items.length) % items.length : -1;
    items.forEach((item, n) => item.setAttribute("aria-selected", String(n === active)));
    if (active >= 0) input.setAttribute("aria-activedescendant", items[active].id);
  };
  const render = () => {
    const words = input.value.toLowerCase().split(/\s+/).filter(Boolean);
    const local = [...select.options]
      .filter((o) => o.value && !(many && o.selected) && words.every((w) => o.text.toLowerCase().includes(w)))
      .map((o) => [o.value, o.text]);
    const more = found.filter(([value]) => !local.some(([v]) => v === value));
    list.replaceChildren(...local.concat(more).slice(0, 12).map(([value, text], n) => {
      const item = document.createElement("li");
      item.setAttribute("role", "option");
      item.id = list.id + "-" + n;
      item.textContent = text;
      item.addEventListener("mousedown", (event) => { event.preventDefault(); choose(value, text); });
      return item;
    }));
    list.hidden = list.children.length === 0;
    input.setAttribute("aria-expanded", String(!list.hidden));
    activate(0);
  };
  const search = async () => {
    const q = input.value.trim();
    if (kind === "person" || q.length < 2) return;
    pending = new AbortController();
    try {
      const links = await suggestedLinks("/search/suggest?kind=" + kind + "&q=" + encodeURIComponent(q), pending.signal);
      found = links.map((link) => [link.getAttribute("href").split("/")[2], link.textContent]);
      render();
    } catch (_) {
      // Aborted by newer input, or offline: the local options stay.
    }
  };
  input.addEventListener("input", () => {
    found = [];
    render();
    clearTimeout(timer);
    if (pending) pending.abort();
    timer = setTimeout(search, 150);
  });
  input.addEventListener("focus", render);
  input.addEventListener("keydown", (event) => {
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      if (list.hidden) render(); else activate(active + (event.key === "ArrowDown" ? 1 : -1));
    } else if (event.key === "Enter" && !list.hidden && active >= 0) {
      event.preventDefault();
      list.children[active].dispatchEvent(new MouseEvent("mousedown"));
    } else if (event.key === "Escape" && !list.hidden) {
      event.preventDefault();
      close();
    }
  });
  input.addEventListener("blur", () => {
    // A single choice emptied clears the field (when it may be empty); other typing is undone.
    if (!many && !input.value.trim() && [...select.options].some((o) => !o.value)) select.value = "";
    showChosen();
    close();
  });
  showChosen();
};
const storedNav = () => { try { return localStorage.getItem(NAV_KEY); } catch (_) { return null; } };
if (storedNav() === "collapsed") document.documentElement.classList.add("nav-collapsed");
document.addEventListener("DOMContentLoaded", () => {
  // The sidebar's collapse button (hidden without script, where the sidebar stays open).
  const toggle = document.querySelector("[data-nav-toggle]");
  if (toggle) {
    const label = toggle.querySelector(".label");
    const show = () => {
      const collapsed = document.documentElement.classList.contains("nav-collapsed");
      toggle.setAttribute("aria-expanded", String(!collapsed));
      toggle.title = collapsed ? "Expand the sidebar" : "Collapse the sidebar";
      if (label) label.textContent = collapsed ? "Expand" : "Collapse";
      // Collapsed, each icon tells its section on hover.
      for (const link of document.querySelectorAll(".side .nav a")) {
        if (collapsed) link.title = link.textContent.trim().replace(/\s+/g, " "); else link.removeAttribute("title");
      }
    };
    toggle.hidden = false;
    show();
    toggle.addEventListener("click", () => {
      const collapsed = document.documentElement.classList.toggle("nav-collapsed");
      try { localStorage.setItem(NAV_KEY, collapsed ? "collapsed" : "open"); } catch (_) { /* private mode */ }
      show();
    });
  }
  // Menus (<details data-menu>) close on Escape and on a click elsewhere.
  const menus = [...document.querySelectorAll("details[data-menu]")];
  document.addEventListener("click", (event) => {
    for (const menu of menus) if (menu.open && !menu.contains(event.target)) menu.open = false;
  });
  document.addEventListener("keydown", (event) => {
    if (event.key !== "Escape") return;
    for (const menu of menus) {
      if (menu.open) {
        menu.open = false;
        menu.querySelector("summary").focus();
      }
    }
  });
  // "/" focuses the search box, as in most web apps (not while typing in a field).
  document.addEventListener("keydown", (event) => {
    const target = event.target;
    const typing = target instanceof HTMLElement && target.closest("input, textarea, select, [contenteditable]");
    if (event.key === "/" && !typing) {
      const search = document.querySelector("input[type=search]");
      if (search) {
        event.preventDefault();
        search.focus();
      }
    }
  });
  // Times of activity read relative ("3 hours ago"); the exact time stays on hover. Without
  // this script the exact time shows.
  const ago = (time) => {
    const seconds = (Date.now() - Date.parse(time.dateTime)) / 1000;
    const exact = time.title || time.textContent;
    time.title = exact;
    const steps = [[60, "minute"], [3600, "hour"], [86400, "day"]];
    if (Number.isNaN(seconds)) return;
    if (seconds < 60) { time.textContent = "just now"; return; }
    if (seconds >= 7 * 86400) { time.textContent = exact; return; }
    const [size, unit] = steps.filter(([size]) => seconds >= size).pop();
    const count = Math.floor(seconds / size);
    time.textContent = unit === "day" && count === 1 ? "yesterday" : `${count} ${unit}${count === 1 ? "" : "s"} ago`;
  };
  const times = () => document.querySelectorAll("time[data-ago]").forEach(ago);
  times();
  setInterval(times, 60000);
  // The deal board: drag a card to another column to move it. The card's own move form is
  // submitted with fetch (the CSRF token goes in the X-CSRF-Token header); without this
  // script (or from the keyboard) the card's "Move…" menu does the same.
  const board = document.querySelector("[data-board]");
  if (board) {
    let dragged = null;
    // After a move, each column's count and total are read again from a fresh board (the
    // server's sums and currency formatting stay the only ones).
    const refreshTotals = async () => {
      const response = await fetch("/deals", { credentials: "same-origin", redirect: "manual" });
      if (!response.ok) return;
      const fresh = new DOMParser().parseFromString(await response.text(), "text/html");
      for (const column of board.querySelectorAll("[data-stage]")) {
        const twin = fresh.querySelector(`[data-stage="${CSS.escape(column.dataset.stage)}"]`);
        for (const part of ["h2", ".sum"]) {
          const here = column.querySelector(part);
          const there = twin && twin.querySelector(part);
          if (here && there) here.replaceChildren(...there.childNodes);
        }
      }
    };
    for (const card of board.querySelectorAll("[data-deal]")) {
      card.draggable = true;
      card.addEventListener("dragstart", (event) => {
        dragged = card;
        event.dataTransfer.effectAllowed = "move";
      });
      card.addEventListener("dragend", () => { dragged = null; });
    }
    for (const column of board.querySelectorAll("[data-stage]")) {
      column.addEventListener("dragover", (event) => {
        if (!dragged) return;
        event.preventDefault();
        column.classList.add("drop");
      });
      column.addEventListener("dragleave", () => column.classList.remove("drop"));
      column.addEventListener("drop", async (event) => {
        event.preventDefault();
        column.classList.remove("drop");
        const card = dragged;
        if (!card || card.parentElement === column) return;
        const form = card.querySelector("form.move");
        const body = new URLSearchParams(new FormData(form));
        const token = body.get("csrf_token") || "";
        body.delete("csrf_token");
        body.set("stage", column.dataset.stage);
        const from = card.parentElement;
        column.appendChild(card);
        try {
          const response = await fetch(form.action, {
            method: "POST", body, redirect: "manual", credentials: "same-origin",
            headers: { "X-CSRF-Token": token },
          });
          if (response.type !== "opaqueredirect" && !response.ok) throw new Error(String(response.status));
          for (const button of form.querySelectorAll("button[name=stage]")) {
            const here = button.value === column.dataset.stage;
            button.disabled = here;
            if (here) button.setAttribute("aria-current", "true"); else button.removeAttribute("aria-current");
          }
          refreshTotals();
        } catch (_) {
          // Let the server answer in full (e.g. the error page).
          from.appendChild(card);
          for (const button of form.querySelectorAll("button[name=stage]")) {
            const here = button.value === column.dataset.stage;
            button.disabled = here;
            if (here) button.setAttribute("aria-current", "true"); else button.removeAttribute("aria-current");
          }
          form.submit();
        }
      });
    }
  }
  // Search suggestions: as the user types in the header's search box, fetch the top titles
  // (debounced) and show them under it. The fragment is parsed inertly and only its links'
  // local paths and text are copied into fresh elements.
  const searchBox = document.querySelector("form.search input[name=q]");
  if (searchBox) {
    const list = document.createElement("ul");
    list.className = "suggest";
    list.hidden = true;
    list.id = "search-suggestions";
    searchBox.setAttribute("aria-controls", list.id);
    searchBox.setAttribute("autocomplete", "off");
    searchBox.form.appendChild(list);
    let timer = null;
    let pending = null;
    const close = () => { list.hidden = true; list.replaceChildren(); };
    const show = (html) => {
      const parsed = new DOMParser().parseFromString(html, "text/html");
      const items = [];
      for (const link of parsed.querySelectorAll("a[href]")) {
        const href = link.getAttribute("href") || "";
        if (!href.startsWith("/") || href.startsWith("//")) continue;
        const item = document.createElement("li");
        const a = document.createElement("a");
        a.href = href;
        a.textContent = link.textContent;
        item.appendChild(a);
        appendKind(item, link);
        items.push(item);
      }
      list.replaceChildren(...items);
      list.hidden = items.length === 0;
    };
    const fetchSuggestions = async () => {
      const q = searchBox.value.trim();
      if (pending) pending.abort();
      if (q.length < 2) { close(); return; }
      pending = new AbortController();
      try {
        const response = await fetch("/search/suggest?q=" + encodeURIComponent(q), {
          credentials: "same-origin", signal: pending.signal, redirect: "manual",
        });
        if (response.ok) show(await response.text()); else close();
      } catch (_) {
        // Aborted by newer input, or offline: the form still submits to /search.
      }
    };
    searchBox.addEventListener("input", () => {
      clearTimeout(timer);
      timer = setTimeout(fetchSuggestions, 150);
    });
    searchBox.addEventListener("keydown", (event) => {
      if (event.key === "Escape") close();
      if (event.key === "ArrowDown" && !list.hidden) {
        event.preventDefault();
        const first = list.querySelector("a");
        if (first) first.focus();
      }
    });
    list.addEventListener("keydown", (event) => {
      const links = [...list.querySelectorAll("a")];
      const at = links.indexOf(document.activeElement);
      if (event.key === "ArrowDown" && at < links.length - 1) { event.preventDefault(); links[at + 1].focus(); }
      if (event.key === "ArrowUp") { event.preventDefault(); (at > 0 ? links[at - 1] : searchBox).focus(); }
      if (event.key === "Escape") { close(); searchBox.focus(); }
    });
    document.addEventListener("click", (event) => {
      if (!searchBox.form.contains(event.target)) close();
    });
  }
  // The command palette: Ctrl K (⌘K on a Mac) or the top bar's "Jump to" (a link to /search
  // without script). Its actions are the page's own list (rendered with the same permissions as
  // the navigation), filtered as one types; records come from the search suggestions.
  const palette = document.getElementById("palette");
  if (palette && typeof palette.showModal === "function") {
    const input = palette.querySelector("input");
    const list = palette.querySelector("[role=listbox]");
    const empty = palette.querySelector(".palette-empty");
    const actions = [...list.children];
    actions.forEach((option, i) => { option.id = "pa-" + i; });
    let records = [];
    let active = null;
    let returnTo = null;
    let timer = null;
    let pending = null;
    const shown = () => [...list.children].filter((option) => !option.hidden);
    const activate = (option) => {
      for (const o of list.children) o.setAttribute("aria-selected", String(o === option));
      active = option;
      if (option) {
        input.setAttribute("aria-activedescendant", option.id);
        option.scrollIntoView({ block: "nearest" });
      } else input.removeAttribute("aria-activedescendant");
    };
    const render = () => {
      const words = input.value.toLowerCase().split(/\s+/).filter(Boolean);
      for (const o of actions) o.hidden = !words.every((w) => o.textContent.toLowerCase().includes(w));
      list.replaceChildren(...actions, ...records);
      const options = shown();
      empty.hidden = options.length > 0 || input.value.trim().length >= 2 && !!pending;
      activate(options.includes(active) ? active : options[0] || null);
    };
    const suggest = async () => {
      const q = input.value.trim();
      if (q.length < 2 || !palette.dataset.suggest) return;
      pending = new AbortController();
      try {
        const links = await suggestedLinks(palette.dataset.suggest + "?q=" + encodeURIComponent(q), pending.signal);
        records = [];
        for (const link of links) {
          const href = link.getAttribute("href");
          const option = document.createElement("li");
          option.setAttribute("role", "option");
          option.id = "pr-" + records.length;
          option.dataset.href = href;
          option.textContent = link.textContent;
          appendKind(option, link);
          records.push(option);
        }
        pending = null;
        render();
      } catch (_) {
        // Aborted by newer input, or offline.
      }
    };
    const open = () => {
      if (palette.open) return;
      returnTo = document.activeElement;
      input.value = "";
      records = [];
      active = null;
      render();
      palette.showModal();
      input.focus();
    };
    const go = (option) => { if (option) location.assign(option.dataset.href); };
    input.addEventListener("input", () => {
      clearTimeout(timer);
      if (pending) pending.abort();
      pending = null;
      records = [];
      render();
      timer = setTimeout(suggest, 150);
    });
    input.addEventListener("keydown", (event) => {
      const options = shown();
      const at = options.indexOf(active);
      if (event.key === "ArrowDown" || event.key === "ArrowUp") {
        event.preventDefault();
        const step = event.key === "ArrowDown" ? 1 : -1;
        if (options.length) activate(options[(at + step + options.length) % options.length]);
      } else if (event.key === "Enter") {
        event.preventDefault();
        go(active);
      } else if (event.key === "Tab") {
        event.preventDefault(); // The field is the dialog's one stop: focus stays in it.
      }
    });
    list.addEventListener("click", (event) => go(event.target.closest("[role=option]")));
    palette.addEventListener("click", (event) => { if (event.target === palette) palette.close(); });
    palette.addEventListener("close", () => {
      clearTimeout(timer);
      if (pending) pending.abort();
      if (returnTo && document.contains(returnTo)) returnTo.focus();
    });
    document.addEventListener("keydown", (event) => {
      if ((event.ctrlKey || event.metaKey) && !event.altKey && event.key.toLowerCase() === "k") {
        event.preventDefault();
        if (palette.open) palette.close(); else open();
      }
    });
    const mac = /Mac|iPhone|iPad/.test(navigator.platform);
    for (const hint of document.querySelectorAll("[data-palette-open]")) {
      hint.setAttribute("aria-haspopup", "dialog");
      if (mac) {
        const kbd = hint.querySelector("kbd");
        if (kbd) kbd.textContent = "⌘K";
        hint.setAttribute("aria-keyshortcuts", "Meta+K");
      }
      hint.addEventListener("click", (event) => {
        event.preventDefault();
        open();
      });
    }
  }
  // Drafts of long forms (form[data-draft]): what one types is kept in this browser (never
  // passwords, hidden fields or files) under "hf-draft:" and the form's action. After a failed
  // submit, a reload or an expired session the form offers it back; the page after a
  // successful submit (any other page than the form's action, the sign-in page or an error)
  // clears it, and so does signing out.
  const DRAFT = "hf-draft:";
  const store = (() => { try { return window.localStorage; } catch (_) { return null; } })();
  const submitted = (() => { try { return window.sessionStorage; } catch (_) { return null; } })();
  if (store && submitted) {
    const sent = submitted.getItem("hf-draft-sent");
    if (sent) {
      submitted.removeItem("hf-draft-sent");
      const failed = location.pathname === new URL(sent.slice(DRAFT.length), location.href).pathname
        || location.pathname.startsWith("/login") || document.querySelector(".flash.error, [aria-invalid=true]");
      if (!failed) store.removeItem(sent);
    }
    const kept = (field) => field.name && field.name !== "csrf_token" && !field.disabled
      && !["password", "hidden", "file", "submit", "button", "reset"].includes(field.type);
    const read = (form) => {
      const values = {};
      for (const field of form.elements) {
        if (!kept(field)) continue;
        if (field.type === "checkbox" || field.type === "radio") {
          if (field.checked) (values[field.name] ||= []).push(field.value);
        } else if (field.multiple) {
          values[field.name] = [...field.selectedOptions].map((o) => o.value);
        } else values[field.name] = field.value;
      }
      return values;
    };
    const write = (form, values) => {
      for (const field of form.elements) {
        if (!kept(field) || !(field.name in values)) continue;
        const value = values[field.name];
        if (field.type === "checkbox" || field.type === "radio") field.checked = [].concat(value).includes(field.value);
        else if (field.multiple) for (const o of field.options) o.selected = [].concat(value).includes(o.value);
        else field.value = value;
      }
    };
    for (const form of document.querySelectorAll("form[data-draft]")) {
      // The note form's action is the same on every record: its subject tells them apart.
      const subject = form.querySelector("input[name=subject_id]");
      const key = DRAFT + (form.getAttribute("action") || location.pathname) + (subject ? "#" + subject.value : "");
      const initial = JSON.stringify(read(form));
      let timer = null;
      const save = () => {
        const now = JSON.stringify(read(form));
        try {
          if (now === initial) store.removeItem(key); else store.setItem(key, now);
        } catch (_) {
          // Storage full or refused: no draft.
        }
      };
      form.addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(save, 400); });
      form.addEventListener("change", save);
      form.addEventListener("submit", () => { clearTimeout(timer); save(); submitted.setItem("hf-draft-sent", key); });
      const draft = store.getItem(key);
      if (!draft || draft === initial) continue;
      const bar = document.createElement("div");
      bar.className = "flash draft-bar";
      bar.setAttribute("role", "status");
      const restore = document.createElement("button");
      restore.type = "button";
      restore.textContent = "Restore";
      const discard = document.createElement("button");
      discard.type = "button";
      discard.className = "secondary";
      discard.textContent = "Discard";
      bar.append("Restore your unsaved draft? ", restore, " ", discard);
      form.before(bar);
      restore.addEventListener("click", () => {
        try { write(form, JSON.parse(draft)); } catch (_) { /* A damaged draft: nothing to restore. */ }
        bar.remove();
        (form.querySelector("textarea, input:not([type=hidden])") || form).focus();
      });
      discard.addEventListener("click", () => { store.removeItem(key); bar.remove(); });
    }
    for (const out of document.querySelectorAll("form[action='/logout']")) {
      out.addEventListener("submit", () => {
        for (const name of Object.keys(store)) if (name.startsWith(DRAFT)) store.removeItem(name);
      });
    }
  }
  // Inline edits on a record's page: a fact's "Edit" link (the fact's own small form page
  // without script) fetches that form and opens it in place of the value; Save submits it as
  // usual (the page comes back with "Saved."), Cancel or Escape puts the value back.
  document.addEventListener("click", async (event) => {
    const link = event.target.closest && event.target.closest("a[data-inline-edit]");
    if (!link || event.ctrlKey || event.metaKey || event.shiftKey) return;
    event.preventDefault();
    const cell = link.closest("td");
    let form;
    try {
      const response = await fetch(link.href, { credentials: "same-origin", headers: { "Accept": "text/html" } });
      if (!response.ok) throw new Error(String(response.status));
      const page = new DOMParser().parseFromString(await response.text(), "text/html");
      form = page.querySelector("main form.record-form");
    } catch (_) { form = null; }
    if (!form) { location.assign(link.href); return; }
    form = document.importNode(form, true);
    form.classList.add("inline-form");
    form.removeAttribute("data-draft");
    const shown = [...cell.childNodes];
    const close = () => { form.remove(); shown.forEach((node) => { if (node.nodeType === 1) node.hidden = false; }); link.focus(); };
    const cancel = form.querySelector(".form-actions a");
    if (cancel) {
      const button = document.createElement("button");
      button.type = "button";
      button.className = "secondary";
      button.textContent = "Cancel";
      button.addEventListener("click", close);
      cancel.replaceWith(button);
    }
    form.addEventListener("keydown", (key) => { if (key.key === "Escape") { key.preventDefault(); close(); } });
    shown.forEach((node) => { if (node.nodeType === 1) node.hidden = true; });
    cell.appendChild(form);
    const first = form.querySelector("input:not([type=hidden]), select, textarea");
    if (first) first.focus();
  });
  document.querySelectorAll("select[data-picker]").forEach(picker);
  // Forms marked data-confirm ask before submitting (destructive actions).
  for (const form of document.querySelectorAll("form[data-confirm]")) {
    form.addEventListener("submit", (event) => {
      if (!window.confirm(form.dataset.confirm)) event.preventDefault();
    });
  }
});

// Page speed as users see it (Web Vitals), for the server's report: the largest paint (LCP),
// the slowest interaction (INP, the longest event of an interaction) and the layout shift
// (CLS), sent once when the page is left. Nothing personal: the route's template and three
// numbers.
(() => {
  const route = document.querySelector('meta[name="hf-route"]')?.content;
  const token = document.querySelector('meta[name="hf-csrf"]')?.content;
  if (!route || !token || !("PerformanceObserver" in window) || !navigator.sendBeacon) return;
  const vitals = { lcp: 0, inp: 0, cls: 0 };
  const observe = (type, take, options = {}) => {
    try {
      new PerformanceObserver((list) => list.getEntries().forEach(take)).observe({ type, buffered: true, ...options });
    } catch (_) {
      // This browser does not measure that one.
    }
  };
  observe("largest-contentful-paint", (entry) => { vitals.lcp = entry.startTime; });
  observe("event", (entry) => { if (entry.interactionId) vitals.inp = Math.max(vitals.inp, entry.duration); }, { durationThreshold: 16 });
  observe("layout-shift", (entry) => { if (!entry.hadRecentInput) vitals.cls += entry.value; });
  let sent = false;
  const send = () => {
    if (sent) return;
    sent = true;
    navigator.sendBeacon("/rum", new URLSearchParams({
      csrf_token: token,
      route,
      lcp_ms: Math.round(vitals.lcp),
      inp_ms: Math.round(vitals.inp),
      cls: vitals.cls.toFixed(4),
    }));
  };
  addEventListener("visibilitychange", () => { if (document.visibilityState === "hidden") send(); });
  addEventListener("pagehide", send);
})();

// Offline reading (the worker is /sw.js). Signed in with it allowed: the worker keeps the
// pages read. Signed out, or not allowed: whatever a browser kept is wiped. On a kept copy
// shown offline (or the page for one not kept): the banner, actions off, and the page comes
// back by itself once the server answers again.
(() => {
  const mode = document.querySelector('meta[name="hf-offline"]')?.content;
  const workers = navigator.serviceWorker;
  const copy = document.querySelector('meta[name="hf-offline-copy"]');
  const missing = document.querySelector("[data-offline-missing]");
  if (workers && !copy && !missing) {
    if (mode === "on") {
      workers.register("/sw.js").catch(() => {});
    } else {
      workers.getRegistrations().then((all) => all.forEach((r) => r.unregister())).catch(() => {});
      indexedDB.deleteDatabase("holdfast-offline");
      if (window.caches) caches.keys().then((names) => names.forEach((n) => caches.delete(n))).catch(() => {});
    }
  }
  if (!copy && !missing) return;
  const retry = () => location.reload();
  const back = async () => {
    try {
      const answer = await fetch("/health", { cache: "no-store" });
      if (answer.ok) retry();
    } catch (_) {
      // Still offline.
    }
  };
  setInterval(back, 3000);
  addEventListener("online", back);
  document.addEventListener("DOMContentLoaded", () => {
    for (const button of document.querySelectorAll("[data-retry]")) button.addEventListener("click", retry);
    const header = document.querySelector("header.top");
    if (header) {
      const badge = document.createElement("span");
      badge.className = "offline-badge";
      badge.textContent = "Offline";
      const search = header.querySelector("form.search");
      const menu = header.querySelector(".user-menu");
      if (search) search.after(badge); else if (menu) menu.before(badge); else header.append(badge);
    }
    if (!copy) return;
    document.body.classList.add("offline-copy");
    const banner = document.createElement("div");
    banner.className = "flash offline";
    banner.setAttribute("role", "status");
    const synced = new Date(Number(copy.content));
    const text = document.createElement("span");
    text.textContent = `Offline mode: a copy saved ${synced.toLocaleString()} (last synced). Changes need a connection.`;
    const button = document.createElement("button");
    button.type = "button";
    button.className = "secondary";
    button.textContent = "Retry";
    button.addEventListener("click", retry);
    banner.append(text, " ", button);
    document.querySelector("main")?.prepend(banner);
    for (const control of document.querySelectorAll("main form button, main form input, main form select, main form textarea")) {
      control.disabled = true;
    }
    for (const link of document.querySelectorAll('main a[href$="/new"], main a[href$="/edit"], a.button')) {
      link.setAttribute("aria-disabled", "true");
      link.classList.add("disabled");
    }
  });
})();

// Lists: checking rows shows "N selected" in the bulk bar, which then sticks to the bottom of
// the window; the header's checkbox selects every row of the page. Without this script the
// bar stays under the list and works the same.
const bulkSelection = (form) => {
  const bar = form.querySelector(".bulk-bar");
  const count = form.querySelector(".bulk-count");
  const all = form.querySelector("input.select-all");
  if (!bar || !count) return;
  const rows = () => [...form.querySelectorAll('tbody input[type="checkbox"][name="ids"]')];
  const show = () => {
    const checked = rows().filter((box) => box.checked).length;
    count.hidden = checked === 0;
    count.textContent = `${checked} selected`;
    bar.classList.toggle("sticky", checked > 0);
    if (all) {
      all.checked = checked > 0 && checked === rows().length;
      all.indeterminate = checked > 0 && checked < rows().length;
    }
  };
  if (all && rows().length > 0) {
    all.hidden = false;
    all.addEventListener("change", () => {
      for (const box of rows()) box.checked = all.checked;
      show();
    });
  }
  form.addEventListener("change", show);
  show();
};
document.addEventListener("DOMContentLoaded", () => {
  for (const form of document.querySelectorAll("form.bulk")) bulkSelection(form);
});
