/** Whether an optional dependency is installed (tests that need it skip, saying why, when it is not). */
export function installed(pkg: string): boolean {
  try {
    require.resolve(`${pkg}/package.json`);
    return true;
  } catch {
    return false;
  }
}
