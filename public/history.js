// A column filter lives in a popover inside the history panel, and every
// change swaps the whole panel. Keep the filter the user is working in open,
// with the caret where it was, across each swap.
(function () {
  document.documentElement.classList.add('with-script')
  let kept = null

  document.addEventListener('htmx:beforeSwap', function () {
    const open = document.querySelector('#history-panel [popover]:popover-open')
    const active = document.activeElement
    kept = open && {
      popover: open.id,
      focus: active && open.contains(active) ? active.id : null,
      start: active && 'selectionStart' in active ? active.selectionStart : null,
      end: active && 'selectionEnd' in active ? active.selectionEnd : null
    }
  })

  document.addEventListener('htmx:afterSettle', function () {
    if (!kept) return
    const popover = document.getElementById(kept.popover)
    const focus = kept.focus && document.getElementById(kept.focus)
    const { start, end } = kept
    kept = null
    if (!popover || typeof popover.showPopover !== 'function') return
    popover.showPopover()
    if (!focus) return
    focus.focus()
    if (start !== null && typeof focus.setSelectionRange === 'function') {
      try { focus.setSelectionRange(start, end) } catch (_) { /* inputs such as checkboxes have no caret */ }
    }
  })
})()
