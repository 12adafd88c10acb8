// Which way a two-sample test looks, shared by the rank tests so that both
// answer the same question: 'less' = the first sample tends to be smaller
// than the second, 'greater' = larger, 'two-sided' = either.
export type Alternative = 'two-sided' | 'less' | 'greater';

/** The result of a two-sample test: its statistic, p-value and how p was computed. */
export interface TestResult {
  statistic: number;
  p: number;
  method: 'exact' | 'asymptotic';
}
