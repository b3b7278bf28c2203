// Content types by extension, as nginx's mime.types gives them for the files web apps ship.
const TYPES: Record<string, string> = {
  html: 'text/html', htm: 'text/html', css: 'text/css', xml: 'text/xml', txt: 'text/plain',
  js: 'application/javascript', mjs: 'application/javascript', json: 'application/json',
  map: 'application/json', webmanifest: 'application/manifest+json', wasm: 'application/wasm',
  gif: 'image/gif', jpeg: 'image/jpeg', jpg: 'image/jpeg', png: 'image/png', webp: 'image/webp',
  avif: 'image/avif', svg: 'image/svg+xml', svgz: 'image/svg+xml', ico: 'image/x-icon', bmp: 'image/x-ms-bmp',
  tif: 'image/tiff', tiff: 'image/tiff',
  woff: 'font/woff', woff2: 'font/woff2', ttf: 'font/ttf', otf: 'font/otf', eot: 'application/vnd.ms-fontobject',
  mp3: 'audio/mpeg', ogg: 'audio/ogg', m4a: 'audio/x-m4a', wav: 'audio/wav',
  mp4: 'video/mp4', webm: 'video/webm', mov: 'video/quicktime', m3u8: 'application/vnd.apple.mpegurl',
  pdf: 'application/pdf', zip: 'application/zip', gz: 'application/gzip', tar: 'application/x-tar',
  rss: 'application/rss+xml', atom: 'application/atom+xml', csv: 'text/csv', md: 'text/markdown',
  yaml: 'text/yaml', yml: 'text/yaml',
};
const TEXT = /^(text\/|application\/(javascript|json|xml|manifest\+json|rss\+xml|atom\+xml))/;

/** The Content-Type for a file name; text types carry charset=utf-8. */
export function contentType(file: string): string {
  const dot = file.lastIndexOf('.');
  const type = (dot >= 0 && TYPES[file.slice(dot + 1).toLowerCase()]) || 'application/octet-stream';
  return TEXT.test(type) ? `${type}; charset=utf-8` : type;
}
