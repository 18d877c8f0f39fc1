/** Types of chromium.cjs for the TypeScript that imports it (bench/driver.ts). */
export declare const CHROMIUM_FLAGS: string[];
export declare const CHROMIUM_GPU_FLAGS: string[];
export declare function chromiumPath(): string;
export declare function findChromium(): string | null;
