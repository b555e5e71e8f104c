// The error the transport raises toward gRPC peers: a message plus the gRPC
// status code it should travel as. It must never carry anything but a
// human-readable reason and the code.
import * as grpc from '@grpc/grpc-js';

/** PeerError is a refusal with the gRPC status it is reported under. */
export class PeerError extends Error {
  readonly code: grpc.status;
  constructor(code: grpc.status, message: string) {
    super(message);
    this.code = code;
  }
}
