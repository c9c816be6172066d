/**
 * The AWS list prices the estimate uses: one dated table, in US dollars, for eu-west-1 (Ireland), on-demand,
 * without free tier. Taken from the public pricing pages named in `source`; change `asOf` with the values.
 */
export const PRICES = {
  region: 'eu-west-1',
  asOf: '2025-11-01',
  source: 'aws.amazon.com/{lambda,sqs,dynamodb,s3,step-functions,eventbridge}/pricing',
  lambda: { perMillionRequests: 0.2, perGbSecondArm: 0.0000133334 },
  sqs: { perMillionRequests: 0.4 },
  dynamodb: { perMillionWriteUnits: 0.7068, perMillionReadUnits: 0.1415 },
  s3: { perThousandPutCopyList: 0.005, perThousandGet: 0.0004, perGbMonthStandard: 0.023 },
  stepFunctions: { perThousandTransitions: 0.025 },
  eventBridge: { perMillionEvents: 1.0 },
  /** Lambda ephemeral storage above the free 512 MB, per GB-second. */
  lambdaEphemeral: { perGbSecond: 0.0000000309 },
  kms: { perTenThousandRequests: 0.03 },
  cloudWatchLogs: { perGbIngested: 0.57 },
} as const;

export type Prices = typeof PRICES;
