/** Types of dawn.mjs for the TypeScript that imports it (bench/gpu.ts). */
export declare const DAWN_VERSION: string;
export declare function cacheDir(): string;
export declare function dawnPath(options?: {fetch?: boolean}): string | null;
export declare function swiftShaderEnv(): Record<string, string>;
export declare function installWebGPU(addonPath: string): GPU;
