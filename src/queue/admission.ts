// The bounded queue in front of the PHP workers: at most `capacity` requests wait for a worker;
// past that the answer is an immediate 503. A request once admitted is never dropped.
export class Admission {
  readonly #workers: number;
  readonly #capacity: number;
  #inFlight = 0;

  constructor(workers: number, capacity: number) {
    this.#workers = workers;
    this.#capacity = capacity;
  }

  /** true: admitted, call release() when it is answered; false: answer 503. */
  tryAdmit(): boolean {
    if (this.#inFlight >= this.#workers + this.#capacity) return false;
    this.#inFlight++;
    return true;
  }

  release(): void {
    this.#inFlight--;
  }

  get inFlight(): number {
    return this.#inFlight;
  }

  get waiting(): number {
    return Math.max(0, this.#inFlight - this.#workers);
  }
}
