// The bounded queue in front of the PHP workers: at most `capacity` requests wait for a worker;
// past that the answer is an immediate 503. A request once admitted is never dropped.
export class Admission {
  readonly #workers: number;
  readonly #capacity: number;
  readonly #onFree: (free: number, admitted: boolean) => void;
  #inFlight = 0;
  /** the most requests running at once, and waiting at once, since the start */
  maxActive = 0;
  maxWaiting = 0;
  /** requests that arrived with every worker busy */
  saturated = 0;

  /** `onFree`: told how many workers are free after each admission and release */
  constructor(workers: number, capacity: number, onFree: (free: number, admitted: boolean) => void) {
    this.#workers = workers;
    this.#capacity = capacity;
    this.#onFree = onFree;
  }

  get free(): number {
    return Math.max(0, this.#workers - this.#inFlight);
  }

  /** true: admitted, call release() when it is answered; false: answer 503. */
  tryAdmit(): boolean {
    if (this.#inFlight >= this.#workers + this.#capacity) return false;
    this.#inFlight++;
    if (this.#inFlight > this.#workers) {
      this.saturated++;
      this.maxWaiting = Math.max(this.maxWaiting, this.#inFlight - this.#workers);
    }
    this.maxActive = Math.max(this.maxActive, Math.min(this.#inFlight, this.#workers));
    this.#onFree(this.free, true);
    return true;
  }

  release(): void {
    this.#inFlight--;
    this.#onFree(this.free, false);
  }

  get inFlight(): number {
    return this.#inFlight;
  }

  get capacity(): number {
    return this.#capacity;
  }

  get waiting(): number {
    return Math.max(0, this.#inFlight - this.#workers);
  }
}
