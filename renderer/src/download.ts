// Saving a file the person asked for, from the page: the browser's own download (the desktop app
// asks where to save it). Nothing is written without that request.

export function saveFile(fileName: string, text: string, type: string): void {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const a = document.createElement('a');
  a.href = url;
  a.download = fileName;
  a.rel = 'noopener';
  document.body.append(a);
  a.click();
  a.remove();
  // The download has taken its copy once click() returns; the URL is only a handle.
  setTimeout(() => URL.revokeObjectURL(url), 0);
}
