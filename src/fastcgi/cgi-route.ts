// The script of a FastCGI request, as php-fpm finds it: the front's SCRIPT_FILENAME, refused when
// it does not exist (404 "File not found.", "Primary script unknown" in the log) or does not end
// in an allowed extension (403 "Access denied.", php-fpm's security.limit_extensions).
import { statSync } from 'node:fs';
import type { PhpRoute } from '../router/router.js';

// php-fpm's default security.limit_extensions
const LIMIT_EXTENSIONS = ['.php'];

export type CgiRoute = PhpRoute | { kind: 'refused'; status: 403 | 404; body: string; log: string };

export function cgiVariable(cgi: readonly string[], name: string): string | undefined {
  for (let i = 0; i < cgi.length; i += 2) if (cgi[i] === name) return cgi[i + 1];
  return undefined;
}

/** The CGI variables by name (a later one replaces an earlier one, as in php-fpm's $_SERVER). */
export function cgiServerVars(cgi: readonly string[]): Record<string, string> {
  const vars: Record<string, string> = {};
  for (let i = 0; i < cgi.length; i += 2) vars[cgi[i]] = cgi[i + 1];
  return vars;
}

export function cgiRoute(cgi: readonly string[]): CgiRoute {
  const scriptFilename = cgiVariable(cgi, 'SCRIPT_FILENAME') ?? '';
  if (!LIMIT_EXTENSIONS.some((ext) => scriptFilename.endsWith(ext))) {
    return { kind: 'refused', status: 403, body: 'Access denied.\n',
      log: `Access to the script '${scriptFilename}' has been denied (see security.limit_extensions)` };
  }
  let isFile = false;
  try {
    isFile = statSync(scriptFilename).isFile();
  } catch {
    // missing or unreadable: php-fpm says the same
  }
  if (!isFile) return { kind: 'refused', status: 404, body: 'File not found.\n', log: 'Primary script unknown' };
  return { kind: 'php', scriptFilename, scriptName: cgiVariable(cgi, 'SCRIPT_NAME') ?? '', pathInfo: cgiVariable(cgi, 'PATH_INFO') ?? '' };
}
