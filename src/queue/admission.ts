// The bounded queue in front of the PHP workers: at most `capacity` requests wait for a worker;
// past that the answer is an immediate 503. A request once admitted is never dropped.
export class Admission {
  readonly #workers: number;
  readonly #capacity: number;
  readonly #onFree: (free: number, admitted: boolean) => void;
  #inFlight = 0;

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

  get waiting(): number {
    return Math.max(0, this.#inFlight - this.#workers);
  }
}
