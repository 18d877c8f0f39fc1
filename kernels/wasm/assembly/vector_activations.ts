// The fused activations in f32x4 lanes, one class each: `activate` is act(z)
// and `derivative` act'(z), as the float64 `derivative` of activations.ts,
// lane by lane (relu maps NaN to 0 as `z > 0 ? z : 0` does, the others keep
// it). An instance is a view of the constant table (vector_math.ts); the
// passes are generic in the class, so each activation's loops are compiled
// into functions of their own.

import {Slot, VectorMath} from './vector_math';

@final @unmanaged
export class Relu extends VectorMath {
  @inline activate(z: v128): v128 {
    return v128.and(z, f32x4.gt(z, f32x4.splat(0)));
  }
  @inline derivative(z: v128): v128 {
    return v128.and(this.vec(Slot.ONE), f32x4.gt(z, f32x4.splat(0)));
  }
}

@final @unmanaged
export class Relu6 extends VectorMath {
  @inline activate(z: v128): v128 {
    return f32x4.pmin(f32x4.pmax(z, f32x4.splat(0)), this.vec(Slot.SIX));
  }
  @inline derivative(z: v128): v128 {
    const inside = v128.and(f32x4.gt(z, f32x4.splat(0)), f32x4.le(z, this.vec(Slot.SIX)));
    return v128.and(this.vec(Slot.ONE), inside);
  }
}

@final @unmanaged
export class LeakyRelu extends VectorMath {
  @inline activate(z: v128): v128 {
    return v128.bitselect(z, f32x4.mul(this.vec(Slot.ALPHA), z), f32x4.gt(z, f32x4.splat(0)));
  }
  @inline derivative(z: v128): v128 {
    return v128.bitselect(this.vec(Slot.ONE), this.vec(Slot.ALPHA), f32x4.gt(z, f32x4.splat(0)));
  }
}

@final @unmanaged
export class Elu extends VectorMath {
  @inline activate(z: v128): v128 {
    const negative = f32x4.sub(this.exp(z), this.vec(Slot.ONE));
    return v128.bitselect(z, negative, f32x4.gt(z, f32x4.splat(0)));
  }
  @inline derivative(z: v128): v128 {
    return v128.bitselect(this.vec(Slot.ONE), this.exp(z), f32x4.gt(z, f32x4.splat(0)));
  }
}

@final @unmanaged
export class Selu extends VectorMath {
  @inline activate(z: v128): v128 {
    const negative = f32x4.mul(this.vec(Slot.SELU_ALPHA), f32x4.sub(this.exp(z), this.vec(Slot.ONE)));
    const unscaled = v128.bitselect(z, negative, f32x4.gt(z, f32x4.splat(0)));
    return f32x4.mul(this.vec(Slot.SELU_SCALE), unscaled);
  }
  @inline derivative(z: v128): v128 {
    const negative = f32x4.mul(this.vec(Slot.SELU_SLOPE), this.exp(z));
    return v128.bitselect(this.vec(Slot.SELU_SCALE), negative, f32x4.gt(z, f32x4.splat(0)));
  }
}

@final @unmanaged
export class Sigmoid extends VectorMath {
  @inline activate(z: v128): v128 {
    return this.sigmoidDirect(z);
  }
  @inline derivative(z: v128): v128 {
    const s = this.sigmoidDirect(z);
    return f32x4.mul(s, f32x4.sub(this.vec(Slot.ONE), s));
  }
}

@final @unmanaged
export class Tanh extends VectorMath {
  @inline activate(z: v128): v128 {
    return this.tanh(z);
  }
  @inline derivative(z: v128): v128 {
    const t = this.tanh(z);
    return f32x4.sub(this.vec(Slot.ONE), f32x4.mul(t, t));
  }
}

@final @unmanaged
export class Swish extends VectorMath {
  @inline activate(z: v128): v128 {
    return f32x4.mul(z, this.sigmoidDirect(z));
  }
  @inline derivative(z: v128): v128 {
    const one = this.vec(Slot.ONE);
    const s = this.sigmoidDirect(z);
    return f32x4.add(s, f32x4.mul(f32x4.mul(z, s), f32x4.sub(one, s)));
  }
}

@final @unmanaged
export class Mish extends VectorMath {
  @inline activate(z: v128): v128 {
    return f32x4.mul(z, this.tanhSoftplus(z, this.expNegAbs(z)));
  }
  @inline derivative(z: v128): v128 {
    const one = this.vec(Slot.ONE);
    const e = this.expNegAbs(z);
    const t = this.tanhSoftplus(z, e);
    const slope = f32x4.mul(f32x4.sub(one, f32x4.mul(t, t)), this.sigmoid(z, e));
    return f32x4.add(t, f32x4.mul(z, slope));
  }
}

@final @unmanaged
export class Gelu extends VectorMath {
  @inline activate(z: v128): v128 {
    return f32x4.mul(z, this.normalCdf(z, this.gaussian(z)));
  }
  @inline derivative(z: v128): v128 {
    const e = this.gaussian(z);
    const density = f32x4.mul(e, this.vec(Slot.INV_SQRT_2PI));
    return f32x4.add(this.normalCdf(z, e), f32x4.mul(z, density));
  }
}

@final @unmanaged
export class GeluNew extends VectorMath {
  @inline activate(z: v128): v128 {
    const half = f32x4.mul(this.vec(Slot.HALF), z);
    return f32x4.mul(half, f32x4.add(this.vec(Slot.ONE), this.geluNewTanh(z)));
  }
  @inline derivative(z: v128): v128 {
    const one = this.vec(Slot.ONE);
    // Past the limit (1 - t^2) is 0: clamping keeps z^2 from overflowing into 0 * Inf.
    const floor = this.vec(Slot.GELU_NEW_FLOOR);
    const zc = f32x4.pmin(f32x4.pmax(z, floor), this.vec(Slot.GELU_NEW_LIMIT));
    const t = this.geluNewTanh(zc);
    const inner = f32x4.add(one, f32x4.mul(this.vec(Slot.GELU_CUBIC3), f32x4.mul(zc, zc)));
    const slope = f32x4.mul(f32x4.sub(one, f32x4.mul(t, t)), inner);
    return f32x4.add(
      f32x4.mul(this.vec(Slot.HALF), f32x4.add(one, t)),
      f32x4.mul(f32x4.mul(zc, this.vec(Slot.GELU_NEW_HALF)), slope),
    );
  }
}
