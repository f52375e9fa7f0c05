import { fileURLToPath } from 'node:url';
import path from 'node:path';

export const sdkRoot = fileURLToPath(new URL('../../', import.meta.url));
export const repoRoot = path.resolve(sdkRoot, '../..');

export function binaryPath() {
  return process.env.PUGUH_BIN || path.join(sdkRoot, '.test-bin', 'puguh');
}
