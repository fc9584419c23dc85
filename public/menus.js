// The toolbar's menus are <details> elements, which stay open until their
// summary is pressed again. Close them as people expect a menu to close:
// on Escape (focus back on its button) and on a press anywhere outside.
(function () {
  document.addEventListener('keydown', function (event) {
    if (event.key !== 'Escape') return
    const menu = document.activeElement && document.activeElement.closest('details.menu[open]')
    if (!menu) return
    menu.open = false
    menu.querySelector('summary').focus()
  })

  document.addEventListener('click', function (event) {
    for (const menu of document.querySelectorAll('details.menu[open]')) {
      if (!menu.contains(event.target)) menu.open = false
    }
  })
})()
