/**
 * WGSL of the statistics the passes carry: moments of x - pivot with
 * Chan's merge, and the three sums of the gradient.
 */

/**
 * (count, mean, variance) of values x - pivot and Chan's merge of two of
 * them: exact for a constant group (the variance stays 0) and stable for any
 * split of the extent. The variance, not M2 = count * variance, is kept and
 * merged with weights count / total, so nothing grows with the pixel count:
 * values of magnitude 1e18 stay finite.
 */
export function momentsSnippet(type: string): string {
  return `
    struct Moments {
      count : f32,
      mean : ${type},
      variance : ${type},
    };

    fn mergeMoments(a : Moments, b : Moments) -> Moments {
      let count = a.count + b.count;
      if (b.count == 0.0) {
        return a;
      }
      let weightB = b.count / count;
      let weightA = a.count / count;
      let delta = b.mean - a.mean;
      return Moments(count, a.mean + delta * weightB,
                     weightA * a.variance + weightB * b.variance +
                         (delta * weightA) * (delta * weightB));
    }
  `;
}

/**
 * `fn runMoments(count, sum, squares) -> Moments`: the moments of a short
 * run of loads from their plain float32 sum and sum of squares (short, so
 * squares of up to ~4e18 cannot overflow; the pivot keeps the cancellation
 * harmless). With `mergeComponents` (vec4 loads of pixels of one row) the four
 * components are merged too.
 */
export function runMomentsSnippet(loadType: string, mergeComponents: boolean): string {
  const perComponent = `
      let mean = sum / count;
      let variance = max((squares - sum * mean) / count, ${loadType}(0.0));`;
  const result = mergeComponents
    ? `let quarter = vec4<f32>(0.25);
      let rowMean = dot(mean, quarter);
      let spread = mean - rowMean;
      return Moments(4.0 * count, rowMean, dot(variance, quarter) + dot(spread * spread, quarter));`
    : 'return Moments(count, mean, variance);';
  return `
    fn runMoments(count : f32, sum : ${loadType}, squares : ${loadType}) -> Moments {
      ${perComponent}
      ${result}
    }
  `;
}

/** The three sums of the gradient: dy, dy * xhat and xhat. */
export function gradSumsSnippet(type: string): string {
  return `
    struct GradSums {
      dy : ${type},
      dyXhat : ${type},
      xhat : ${type},
    };

    fn addGradSums(a : GradSums, b : GradSums) -> GradSums {
      return GradSums(a.dy + b.dy, a.dyXhat + b.dyXhat, a.xhat + b.xhat);
    }
  `;
}
