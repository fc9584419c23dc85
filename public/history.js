// Every change to the history (a sort, a filter, a page) swaps the whole
// panel. Across each swap: focus goes back to the control the person was on
// or, when that is gone (a removed chip), to the next one still there; a
// filter popover they were working in stays open; and what the list now
// shows is announced. Dropdowns send a choice once it is made, not at each
// arrow key, so stepping through them neither asks the server nor adds to
// the browser's history.
(function () {
  document.documentElement.classList.add('with-script')
  let kept = null

  /** The id of the focused control in the panel and of every one after it, the first still there taking focus after the swap. */
  function idsFrom (panel, active) {
    if (!active || !panel.contains(active)) return []
    return [...panel.querySelectorAll('[id]')]
      .filter(el => el === active || active.compareDocumentPosition(el) & Node.DOCUMENT_POSITION_FOLLOWING)
      .map(el => el.id)
  }

  document.addEventListener('htmx:beforeSwap', function (event) {
    const panel = event.detail.target
    if (panel.id !== 'history-panel') return
    const open = panel.querySelector('[popover]:popover-open')
    const active = document.activeElement
    kept = {
      popover: open && open.id,
      ids: idsFrom(panel, active),
      start: active && 'selectionStart' in active ? active.selectionStart : null,
      end: active && 'selectionEnd' in active ? active.selectionEnd : null
    }
  })

  function reopen (id) {
    const popover = id && document.getElementById(id)
    if (!popover || typeof popover.showPopover !== 'function') return
    // Shown from its toggle, with focus on it, so the toggle reads as expanded and Escape takes focus back to it.
    const toggle = document.querySelector(`[popovertarget="${id}"]`)
    if (toggle) toggle.focus()
    popover.showPopover({ source: toggle ?? undefined })
  }

  function focusOn (el) {
    el.focus()
    return document.activeElement === el
  }

  document.addEventListener('htmx:afterSettle', function (event) {
    const panel = event.target
    if (!kept || panel.id !== 'history-panel') return
    const { popover, ids, start, end } = kept
    kept = null
    reopen(popover)
    const focused = ids.map(id => document.getElementById(id)).find(el => el && focusOn(el))
    if (focused && focused.id === ids[0] && start !== null && typeof focused.setSelectionRange === 'function') {
      try { focused.setSelectionRange(start, end) } catch (_) { /* inputs such as checkboxes have no caret */ }
    }
    const status = document.getElementById('history-status')
    const summary = panel.querySelector('[data-status]')
    if (status) status.textContent = summary ? summary.dataset.status : ''
  })

  const STEP_KEYS = ['ArrowUp', 'ArrowDown', 'ArrowLeft', 'ArrowRight', 'Home', 'End', 'PageUp', 'PageDown']
  let stepping = false
  let unsent = null

  function dropdown (target) {
    return target instanceof HTMLSelectElement && target.closest('#history-panel') ? target : null
  }

  function send (select) {
    unsent = null
    if (!select.options[select.selectedIndex]?.defaultSelected) select.form.requestSubmit()
  }

  // A key that steps through a closed dropdown changes its value at once; that change is a step, not a choice.
  document.addEventListener('keydown', function (event) {
    const select = dropdown(event.target)
    if (!select || event.altKey || event.ctrlKey || event.metaKey) return
    if (STEP_KEYS.includes(event.key) || (event.key.length === 1 && event.key !== ' ')) {
      stepping = true
      setTimeout(() => { stepping = false })
    } else if (event.key === 'Enter' && unsent === select) {
      event.preventDefault()
      send(select)
    }
  })

  document.addEventListener('change', function (event) {
    const select = dropdown(event.target)
    if (!select) return
    if (stepping) unsent = select
    else send(select)
  })

  document.addEventListener('focusout', function (event) {
    if (unsent && event.target === unsent) send(unsent)
  })
})()
