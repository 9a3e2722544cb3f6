// The message a call throws, or 'no error': for tests that compare two ways of failing.

export const errorOf = (f: () => unknown): string => {
  try {
    f();
  } catch (e) {
    return (e as Error).message;
  }
  return 'no error';
};
