// The compiler version written into generated headers (kept in step with package.json by a test).
export const PHIC_VERSION = '0.1.0';
