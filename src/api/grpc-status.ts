/** grpc-gateway v1's HTTP status for each gRPC code (HTTPStatusFromCode), as etcd 3.4.23's gateway answers. */
const STATUS: Record<number, number> = {
  0: 200,
  1: 408,
  2: 500,
  3: 400,
  4: 504,
  5: 404,
  6: 409,
  7: 403,
  8: 429,
  9: 412,
  10: 409,
  11: 400,
  12: 501,
  13: 500,
  14: 503,
  15: 500,
  16: 401,
};

export const httpStatusOf = (code: number): number => STATUS[code] ?? 500;
