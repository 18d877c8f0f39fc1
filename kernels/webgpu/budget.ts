/**
 * How many workgroups and lanes the WebGPU passes use, per adapter kind: a
 * GPU, or a CPU-emulated adapter (SwiftShader, a fallback adapter). Numbers
 * only; plan.ts turns them into tilings and dispatches.
 */
import {env} from '@tensorflow/tfjs-core';
import type {WebGPUBackend} from '@tensorflow/tfjs-backend-webgpu';

import {DeviceClass, forcedDeviceClass} from '../common/device_class';

/** Lanes per workgroup of the reduction and fold passes on a GPU. */
export const WORKGROUP_SIZE = 64;

/** How many workgroups the passes use on an adapter. */
export interface WorkgroupBudget {
  /** Work items ((channel tile or row tile) x instance x chunk) wanted in the reduction. */
  target: number;
  /** Most workgroups of any pass; beyond it a workgroup loops. */
  max: number;
  /** Most lanes sharing a slot of the reduction (the depth of its barrier tree). */
  maxMembers: number;
  /** Lanes of a fold workgroup (the three-pass path). */
  foldLanes: number;
  /**
   * Fold the partials in the consumer pass (two dispatches); false runs a
   * fold pass and an elementwise pass instead (three).
   */
  fusedPass: boolean;
  /** Lanes of a one-pass forward workgroup; 0 never takes the one-pass forward. */
  onePassLanes: number;
  /** Widest channelsLast row (C) the one-pass forward takes (see ONE_PASS_MAX_ROW). */
  onePassMaxRow: number;
  /**
   * Split S only into chunks that give each lane MIN_VISITS_PER_LANE loads;
   * false splits as far as the target asks (the tests' stress mode).
   */
  economicSplits: boolean;
}

/**
 * Widest channelsLast row (C) the one-pass forward takes when its lanes load
 * more than one element each: they then read the group's channels at a stride
 * of C floats, and past 32 floats (128 bytes) those reads stop sharing cache
 * lines. Bench rows 2x64x64x320 (several loads a lane: three passes) and
 * 16x16x16x128 (one load a lane: one pass) show it.
 */
export const ONE_PASS_MAX_ROW = 32;

/**
 * A GPU: 4096 items fill a 132-SM card (32 workgroups of 64 lanes per SM)
 * with room to spare for smaller ones; no pass is capped.
 */
export const GPU_BUDGET: WorkgroupBudget = {
  target: 4096,
  max: Infinity,
  maxMembers: WORKGROUP_SIZE,
  foldLanes: WORKGROUP_SIZE,
  fusedPass: true,
  onePassLanes: 256,
  onePassMaxRow: ONE_PASS_MAX_ROW,
  economicSplits: true,
};

/**
 * Workgroups per core on a CPU-emulated adapter (SwiftShader, a fallback
 * adapter), which runs a workgroup on one thread and its barriers as
 * coroutines: a few workgroups per core, each looping over many items with
 * one lane per slot (no barrier tree). The SwiftShader bench rows show it.
 */
const CPU_WORKGROUPS_PER_CORE = 4;

/**
 * tfjs flag overriding the reduction's workgroup budget (0: by adapter). A
 * value sets target = max and splits S as far as that target asks: the tests
 * use it to stress the split path and the item loop on any adapter.
 */
export const TARGET_WORKGROUPS_FLAG = 'INSTANCE_NORM_WEBGPU_TARGET_WORKGROUPS';
env().registerFlag(TARGET_WORKGROUPS_FLAG, () => 0);

/** What the backend says of its adapter (tfjs' AdapterInfo and the device's). */
export interface AdapterFacts {
  vendor?: string;
  architecture?: string;
  isFallbackAdapter?: boolean;
}

export function adapterFacts(backend: WebGPUBackend): AdapterFacts {
  const fromBackend = backend.adapterInfo as unknown as AdapterFacts | undefined;
  const fromDevice = (backend.device as Partial<GPUDevice>).adapterInfo;
  return {
    vendor: fromBackend?.vendor ?? fromDevice?.vendor,
    architecture: fromBackend?.architecture ?? fromDevice?.architecture,
    isFallbackAdapter: fromDevice?.isFallbackAdapter,
  };
}

/** The device class (../common/device_class.ts) of an adapter. */
export function deviceClassOf(facts: AdapterFacts): DeviceClass {
  return facts.isFallbackAdapter === true || facts.architecture === 'swiftshader'
    ? 'software'
    : 'gpu';
}

/** The budget for a device class; `cores` matters for 'software'. */
export function budgetFor(deviceClass: DeviceClass, cores: number): WorkgroupBudget {
  if (deviceClass === 'gpu') return GPU_BUDGET;
  const workgroups = CPU_WORKGROUPS_PER_CORE * cores;
  return {
    target: workgroups,
    max: workgroups,
    maxMembers: 1,
    foldLanes: 1,
    // The fused pass's barriers and workgroup memory would run its
    // elementwise loop as coroutines: the fold and elementwise passes instead.
    fusedPass: false,
    // One workgroup of one lane per (n, group) would serialize the whole
    // extent on a core: the three passes instead.
    onePassLanes: 0,
    onePassMaxRow: 0,
    economicSplits: true,
  };
}

/** Each backend's device class, read once (Dawn's adapterInfo is a native call). */
const deviceClasses = new WeakMap<WebGPUBackend, DeviceClass>();

function deviceClassOfBackend(backend: WebGPUBackend): DeviceClass {
  let deviceClass = deviceClasses.get(backend);
  if (deviceClass == null) {
    deviceClass = deviceClassOf(adapterFacts(backend));
    deviceClasses.set(backend, deviceClass);
  }
  return deviceClass;
}

/** The budget of the backend's adapter, or the one the tests force. */
export function workgroupBudget(backend: WebGPUBackend): WorkgroupBudget {
  const forced = env().getNumber(TARGET_WORKGROUPS_FLAG);
  if (forced > 0) {
    return {...GPU_BUDGET, target: forced, max: forced, onePassLanes: 0, economicSplits: false};
  }
  const cores = (typeof navigator !== 'undefined' && navigator.hardwareConcurrency) || 2;
  const deviceClass = forcedDeviceClass() ?? deviceClassOfBackend(backend);
  return budgetFor(deviceClass, cores);
}
