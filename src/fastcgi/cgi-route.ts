// The script of a FastCGI request, as php-fpm finds it: the front's SCRIPT_FILENAME, refused when
// it does not exist (404 "File not found.", "Primary script unknown" in the log) or does not end
// in an allowed extension (403 "Access denied.", php-fpm's security.limit_extensions).
import { statSync } from 'node:fs';
import type { PhpRoute } from '../router/router.js';
import type { CgiParams } from '../transport/request-context.js';

// php-fpm's default security.limit_extensions
const LIMIT_EXTENSIONS = ['.php'];

export type CgiRoute = PhpRoute | { kind: 'refused'; status: 403 | 404; body: string; log: string };

// Scripts seen to be files, and when: a script is looked at on the event loop once a second, not
// on every request. OPcache (revalidate_freq, 2 s by default) runs a deleted script as long.
const SEEN_FOR_MS = 1000;
const MAX_SEEN = 4096;
const seen = new Map<string, number>();

function isScript(file: string): boolean {
  const now = performance.now();
  const at = seen.get(file);
  if (at !== undefined && now - at < SEEN_FOR_MS) return true;
  // missing or unreadable: php-fpm says the same
  if (!statSync(file, { throwIfNoEntry: false })?.isFile()) {
    seen.delete(file);
    return false;
  }
  if (seen.size >= MAX_SEEN) seen.clear();
  seen.set(file, now);
  return true;
}

export function cgiRoute(cgi: CgiParams): CgiRoute {
  const { scriptFilename } = cgi;
  if (!LIMIT_EXTENSIONS.some((ext) => scriptFilename.endsWith(ext))) {
    return { kind: 'refused', status: 403, body: 'Access denied.\n',
      log: `Access to the script '${scriptFilename}' has been denied (see security.limit_extensions)` };
  }
  if (!isScript(scriptFilename)) return { kind: 'refused', status: 404, body: 'File not found.\n', log: 'Primary script unknown' };
  return { kind: 'php', scriptFilename, scriptName: cgi.scriptName, pathInfo: cgi.pathInfo };
}
