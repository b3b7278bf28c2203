// ext/polyfill.php: the tokio functions in userland, so an app also runs under plain PHP.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { PACKAGE_ROOT } from '../src/package.js';

test('under the PHP CLI the polyfill defines every tokio function', () => {
  const phpConfig = readFileSync(path.join(PACKAGE_ROOT, 'native/.php-config'), 'utf8').trim();
  const php = path.join(path.dirname(phpConfig), 'php');
  const script = `require ${JSON.stringify(path.join(PACKAGE_ROOT, 'ext/polyfill.php'))};
    $_SERVER['HTTP_X_REQUEST_ID'] = 'from-header';
    echo json_encode([tokio_request_heartbeat(5), tokio_request_id(), tokio_worker_id(), tokio_server_info()['executor'],
      tokio_send_headers(201), tokio_finish_request(), tokio_handle_request(function () { echo 'once '; }),
      tokio_handle_request(function () { echo 'never'; })]);`;
  const out = execFileSync(php, ['-n', '-r', script], { encoding: 'utf8' });
  assert.ok(out.startsWith('once '), out);
  assert.deepEqual(JSON.parse(out.slice(5)), [false, 'from-header', 0, 'none', true, true, false, false]);
});
