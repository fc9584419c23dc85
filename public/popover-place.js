// A filter opens next to the control that opened it and stays inside the
// window: below it, or above when there is more room there; moved left when
// it would run off the right edge; scrolling within itself when it is taller
// than the room it has. Where the stylesheet shows filters as sheets along
// the bottom of the screen instead (it says so in --placement), they are
// left to it.
(function () {
  const PLACED = '.filter-popover'
  const EDGE = 8
  const GAP = 4
  const openers = new Map()

  document.addEventListener('click', function (event) {
    const opener = event.target instanceof Element && event.target.closest('[popovertarget]')
    if (opener) openers.set(opener.getAttribute('popovertarget'), opener)
  }, true)

  function onScreen (element) {
    return element && element.isConnected && element.getBoundingClientRect().width > 1
  }

  // After a swap the control that opened the filter is gone; its replacement is the visible control for the same filter.
  function openerOf (popover) {
    const opener = openers.get(popover.id)
    if (onScreen(opener)) return opener
    return [...document.querySelectorAll(`[popovertarget="${CSS.escape(popover.id)}"]`)].find(onScreen) || null
  }

  const clamp = (value, min, max) => Math.max(min, Math.min(value, max))

  function unplace (popover) {
    for (const property of ['inset', 'margin', 'top', 'left', 'max-height']) popover.style.removeProperty(property)
  }

  function place (popover) {
    const opener = openerOf(popover)
    const asSheet = getComputedStyle(popover).getPropertyValue('--placement').trim() === 'sheet'
    if (asSheet || !opener) return unplace(popover)
    const at = opener.getBoundingClientRect()
    const viewWidth = document.documentElement.clientWidth
    const viewHeight = document.documentElement.clientHeight
    const width = popover.offsetWidth
    const height = popover.scrollHeight + popover.offsetHeight - popover.clientHeight
    const below = viewHeight - at.bottom - GAP - EDGE
    const above = at.top - GAP - EDGE
    const upwards = height > below && above > below
    const room = clamp(upwards ? above : below, 0, viewHeight - 2 * EDGE)
    const shownHeight = Math.min(height, room)
    const top = upwards ? at.top - GAP - shownHeight : at.bottom + GAP
    const left = at.left + width > viewWidth - EDGE ? at.right - width : at.left
    Object.assign(popover.style, {
      inset: 'auto',
      margin: '0',
      top: `${clamp(top, EDGE, viewHeight - EDGE - shownHeight)}px`,
      left: `${clamp(left, EDGE, viewWidth - EDGE - width)}px`,
      maxHeight: `${room}px`
    })
  }

  // Placed after layout and before paint whenever an open filter changes size, including the moment it opens.
  const resized = new ResizeObserver(function (entries) {
    for (const entry of entries) if (entry.target.matches(':popover-open')) place(entry.target)
  })

  document.addEventListener('beforetoggle', function (event) {
    if (!(event.target instanceof Element) || !event.target.matches(PLACED)) return
    if (event.newState === 'open') resized.observe(event.target)
    else resized.unobserve(event.target)
  }, true)

  function placeOpen () {
    for (const popover of document.querySelectorAll(`${PLACED}:popover-open`)) place(popover)
  }
  window.addEventListener('resize', placeOpen)
  document.addEventListener('scroll', placeOpen, { capture: true, passive: true })
})()
