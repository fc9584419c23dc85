// A <dialog data-replaces="/address"> holds what the confirmation page at that address shows. With this
// script, the links and GET forms that lead there open it as a modal instead; without it, they still go to
// the page, which works without JavaScript.
const FOCUSABLE = 'a[href], button:not([disabled]), input:not([type="hidden"]):not([disabled]), select:not([disabled]), textarea:not([disabled]), [tabindex]:not([tabindex="-1"])'

for (const dialog of document.querySelectorAll('dialog[data-replaces]')) {
  const address = dialog.dataset.replaces
  let opener = null
  const open = (event, from) => {
    event.preventDefault()
    opener = from
    dialog.showModal()
  }
  for (const link of document.querySelectorAll('a[href]')) {
    if (link.getAttribute('href') === address) link.addEventListener('click', event => open(event, link))
  }
  for (const form of document.querySelectorAll('form[method="get"]')) {
    if (form.getAttribute('action') === address) form.addEventListener('submit', event => open(event, event.submitter ?? form))
  }

  // However it closes (Escape, Cancel, Close), the keyboard is back where it was.
  dialog.addEventListener('close', () => opener?.focus())

  // The page behind is inert, but the browser would still Tab out to its own toolbar: go round the dialog instead.
  dialog.addEventListener('keydown', event => {
    if (event.key !== 'Tab') return
    const focusable = [...dialog.querySelectorAll(FOCUSABLE)].filter(element => element.checkVisibility())
    if (focusable.length === 0) return
    const first = focusable[0]
    const last = focusable[focusable.length - 1]
    if (event.shiftKey && document.activeElement === first) {
      event.preventDefault()
      last.focus()
    } else if (!event.shiftKey && document.activeElement === last) {
      event.preventDefault()
      first.focus()
    }
  })
}
