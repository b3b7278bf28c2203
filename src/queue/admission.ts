// The bounded queue in front of the PHP workers: at most `capacity` requests wait for a worker;
// past that the answer is an immediate 503. A request once admitted is never dropped.
//
// Its counts live in shared memory when several event loops feed one pool (HTTP_THREADS): every
// loop admits against the same figures, so the bound and the queue are the process's, not a loop's.

const IN_FLIGHT = 0;
const MAX_ACTIVE = 1;
const MAX_WAITING = 2;
const SATURATED = 3;
const STUCK = 4;
const ADMITTED = 5;
const CELLS = 6;

export class Admission {
  readonly #workers: number;
  readonly #capacity: number;
  readonly #onFree: (free: number, change: 1 | -1) => void;
  readonly #cells: Int32Array;

  /** Counts another thread's Admission can share (pass to its constructor). */
  static sharedCounts(): SharedArrayBuffer {
    return new SharedArrayBuffer(CELLS * Int32Array.BYTES_PER_ELEMENT);
  }

  /** `onFree`: told how many workers are free after each admission (+1) and release (-1) */
  constructor(workers: number, capacity: number, onFree: (free: number, change: 1 | -1) => void, counts?: SharedArrayBuffer) {
    this.#workers = workers;
    this.#capacity = capacity;
    this.#onFree = onFree;
    this.#cells = new Int32Array(counts ?? new ArrayBuffer(CELLS * Int32Array.BYTES_PER_ELEMENT));
  }

  get free(): number {
    return Math.max(0, this.#workers - this.inFlight);
  }

  /** true: admitted, call release() when it is answered; false: answer 503. */
  tryAdmit(): boolean {
    const c = this.#cells;
    // every thread held by a stuck script: nothing could run until the process is replaced
    if (Atomics.load(c, STUCK) >= this.#workers) return false;
    const inFlight = Atomics.add(c, IN_FLIGHT, 1) + 1;
    if (inFlight > this.#workers + this.#capacity) {
      Atomics.sub(c, IN_FLIGHT, 1);
      return false;
    }
    if (inFlight > this.#workers) {
      Atomics.add(c, SATURATED, 1);
      raise(c, MAX_WAITING, inFlight - this.#workers);
    }
    raise(c, MAX_ACTIVE, Math.min(inFlight, this.#workers));
    Atomics.add(c, ADMITTED, 1);
    this.#onFree(Math.max(0, this.#workers - inFlight), 1);
    return true;
  }

  release(): void {
    const inFlight = Atomics.sub(this.#cells, IN_FLIGHT, 1) - 1;
    this.#onFree(Math.max(0, this.#workers - inFlight), -1);
  }

  /** A script is stuck in C: its thread is held until the process is replaced. Returns how many are. */
  stuck(): number {
    return Atomics.add(this.#cells, STUCK, 1) + 1;
  }

  get inFlight(): number {
    return Atomics.load(this.#cells, IN_FLIGHT);
  }

  get capacity(): number {
    return this.#capacity;
  }

  get waiting(): number {
    return Math.max(0, this.inFlight - this.#workers);
  }

  /** the most requests running at once, and waiting at once, since the start */
  get maxActive(): number {
    return Atomics.load(this.#cells, MAX_ACTIVE);
  }

  get maxWaiting(): number {
    return Atomics.load(this.#cells, MAX_WAITING);
  }

  /** requests admitted since the start: php-fpm's "accepted conn" */
  get admitted(): number {
    return Atomics.load(this.#cells, ADMITTED);
  }

  /** requests that arrived with every worker busy */
  get saturated(): number {
    return Atomics.load(this.#cells, SATURATED);
  }
}

/** cells[i] = max(cells[i], value), atomically */
function raise(cells: Int32Array, i: number, value: number): void {
  let seen = Atomics.load(cells, i);
  while (seen < value) {
    const was = Atomics.compareExchange(cells, i, seen, value);
    if (was === seen) return;
    seen = was;
  }
}
