// Holdfast progressive enhancement: every page works without this file.
"use strict";
document.addEventListener("DOMContentLoaded", () => {
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
  // The deal board: drag a card to another column to move it. The card's own move form is
  // submitted with fetch (the CSRF token goes in the X-CSRF-Token header); without this
  // script the form's select and button do the same.
  const board = document.querySelector("[data-board]");
  if (board) {
    let dragged = null;
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
          form.querySelector("select").value = column.dataset.stage;
        } catch (_) {
          // Let the server answer in full (e.g. the error page).
          from.appendChild(card);
          form.querySelector("select").value = column.dataset.stage;
          form.submit();
        }
      });
    }
  }
  // Forms marked data-confirm ask before submitting (destructive actions).
  for (const form of document.querySelectorAll("form[data-confirm]")) {
    form.addEventListener("submit", (event) => {
      if (!window.confirm(form.dataset.confirm)) event.preventDefault();
    });
  }
});
