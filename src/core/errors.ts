// The catalogue of nfvgw errors: every error the control plane reports has a
// stable code, an HTTP status for the API, and optional details (JSON path
// and reason for configuration errors). The CLI and the REST API show the
// same codes; the native addon throws the data-plane ones.

export const ERRORS = {
  NFVGW_ERR_CONFIG_PARSE: { status: 400, summary: 'the configuration is not valid YAML or JSON' },
  NFVGW_ERR_CONFIG_INVALID: { status: 422, summary: 'the configuration is invalid' },
  NFVGW_ERR_RESTART_REQUIRED: { status: 409, summary: 'the change needs a restart of the gateway' },
  NFVGW_ERR_BAD_REQUEST: { status: 400, summary: 'the request is malformed' },
  NFVGW_ERR_UNAUTHORIZED: { status: 401, summary: 'no token, or not a valid one' },
  NFVGW_ERR_FORBIDDEN: { status: 403, summary: 'the token does not allow that' },
  NFVGW_ERR_NOT_FOUND: { status: 404, summary: 'no such resource' },
  NFVGW_ERR_PRECONDITION_FAILED: {
    status: 412,
    summary: 'the configuration changed since the generation given in If-Match',
  },
  NFVGW_ERR_BODY_TOO_LARGE: { status: 413, summary: 'the request body is too large' },
  NFVGW_ERR_UNSUPPORTED_MEDIA_TYPE: { status: 415, summary: 'send JSON or YAML' },
  NFVGW_ERR_UNAVAILABLE: { status: 503, summary: 'the gateway is not reachable' },
  NFVGW_ERR_STATE: { status: 409, summary: 'the gateway is not in a state to do that' },
  NFVGW_ERR_STATE_FILE: { status: 500, summary: 'the saved state cannot be used' },
  NFVGW_ERR_API_SETUP: { status: 500, summary: "the API's address, tokens or certificate cannot be used" },
  // From the data plane (native/core/error.h).
  NFVGW_ERR_PORT_OPEN: { status: 500, summary: 'a port could not be opened' },
  NFVGW_ERR_XDP_ATTACH: { status: 500, summary: 'the XDP program could not be attached' },
  NFVGW_ERR_MEMORY: { status: 500, summary: 'memory could not be mapped' },
  NFVGW_ERR_NETNS: { status: 500, summary: 'a network namespace could not be entered' },
  NFVGW_ERR_WORKER: { status: 500, summary: 'a worker could not be created' },
  NFVGW_ERR_SNAPSHOT: { status: 500, summary: 'the data plane refused the compiled configuration' },
  NFVGW_ERR_ARGUMENT: { status: 500, summary: 'the data plane was called with a bad argument' },
  NFVGW_ERR_ADDON: { status: 500, summary: 'the native addon could not be loaded' },
  NFVGW_ERR_INTERNAL: { status: 500, summary: 'internal error' },
} as const;

export type ErrorCode = keyof typeof ERRORS;

export interface ErrorDetail {
  path: string;
  message: string;
}

export class NfvgwError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly details: ErrorDetail[];
  readonly errno: number | undefined;

  constructor(
    code: ErrorCode,
    message: string,
    details: ErrorDetail[] = [],
    options: { cause?: unknown; errno?: number } = {},
  ) {
    super(message, { cause: options.cause });
    this.name = 'NfvgwError';
    this.code = code;
    this.status = ERRORS[code].status;
    this.details = details;
    this.errno = options.errno;
  }

  toJSON(): { code: ErrorCode; message: string; details: ErrorDetail[] } {
    return { code: this.code, message: this.message, details: this.details };
  }

  /** The full text for a terminal: the message and one line per detail. */
  describe(): string {
    return [this.message, ...this.details.map((d) => `  ${d.path}: ${d.message}`)].join('\n');
  }

  /** Wraps anything thrown (native errors carry a code) into an NfvgwError. */
  static from(e: unknown): NfvgwError {
    if (e instanceof NfvgwError) return e;
    if (e instanceof Error) {
      const code = (e as { code?: unknown }).code;
      const errno = (e as { errno?: unknown }).errno;
      const known = typeof code === 'string' && code in ERRORS ? (code as ErrorCode) : 'NFVGW_ERR_INTERNAL';
      return new NfvgwError(known, e.message, [], {
        cause: e,
        errno: typeof errno === 'number' ? errno : undefined,
      });
    }
    return new NfvgwError('NFVGW_ERR_INTERNAL', String(e));
  }
}
