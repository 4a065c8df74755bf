/**
 * Output arrays for the native kernels. `new Float32Array(n)` zero-fills (calloc), a full
 * extra pass over memory that every native kernel then overwrites; large outputs are taken
 * uninitialised instead (Buffer.allocUnsafeSlow: malloc, never the shared small-buffer pool).
 * Every native kernel writes its whole output, so no stale bytes can show through.
 */
const ZERO_FILL_BELOW = 1 << 14; // floats; small arrays are not worth it

export function outputArray(n: number): Float32Array {
  if (n < ZERO_FILL_BELOW) return new Float32Array(n);
  const buf = Buffer.allocUnsafeSlow(n * 4);
  return new Float32Array(buf.buffer, buf.byteOffset, n);
}
