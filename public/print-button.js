// The Print button needs a script to press the browser's own Print; without one, it stays hidden.
for (const button of document.querySelectorAll('.print-button')) {
  button.hidden = false
  button.addEventListener('click', () => window.print())
}
