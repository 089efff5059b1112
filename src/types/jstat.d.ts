/** The parts of jstat (https://github.com/jstat/jstat, MIT) this project uses. */
declare module 'jstat' {
  interface JStat {
    /** Regularised incomplete beta function I_x(a, b). */
    ibeta(x: number, a: number, b: number): number;
    beta: {
      /** Quantile of Beta(alpha, beta) at probability p. */
      inv(p: number, alpha: number, beta: number): number;
    };
  }
  const pkg: { jStat: JStat };
  export default pkg;
}
