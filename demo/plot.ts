/**
 * Small canvas drawings: the loss curve (log-scale y, labelled axes, legend)
 * and rows of images from float pixel data.
 */

export interface Series {
  label: string;
  color: string;
  values: number[];
  width: number;
  alpha: number;
}

const FONT = '12px system-ui, sans-serif';
const AXIS_COLOR = '#5b6472';
const GRID_COLOR = '#e6e9ef';

/** A canvas sized in CSS pixels and drawn at the device pixel ratio (sharp on HiDPI). */
function context2d(canvas: HTMLCanvasElement): [CanvasRenderingContext2D, number, number] {
  const ratio = window.devicePixelRatio || 1;
  const width = canvas.clientWidth;
  const height = canvas.clientHeight;
  if (canvas.width !== Math.round(width * ratio) || canvas.height !== Math.round(height * ratio)) {
    canvas.width = Math.round(width * ratio);
    canvas.height = Math.round(height * ratio);
  }
  const ctx = canvas.getContext('2d')!;
  ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
  ctx.clearRect(0, 0, width, height);
  return [ctx, width, height];
}

/** 1, 2, 5 × 10^k steps that give about `count` ticks over [0, max]. */
function linearTicks(max: number, count: number): number[] {
  const raw = max / count;
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map(m => m * power).find(s => s >= raw)!;
  const ticks: number[] = [];
  for (let t = 0; t <= max + 1e-9; t += step) ticks.push(t);
  return ticks;
}

function formatLoss(v: number): string {
  return String(Number(v.toPrecision(2)));
}

/** Draws the loss of each series against the step, y on a log scale. */
export function drawLossPlot(canvas: HTMLCanvasElement, series: Series[]): void {
  const [ctx, width, height] = context2d(canvas);
  const margin = {left: 64, right: 16, top: 30, bottom: 46};
  const plotW = width - margin.left - margin.right;
  const plotH = height - margin.top - margin.bottom;
  const all = series.flatMap(s => s.values).filter(v => v > 0 && Number.isFinite(v));
  const steps = Math.max(20, ...series.map(s => s.values.length));
  // The y range snaps to 1-2-5 values so the axis stays put between redraws.
  const snaps = [1, 2, 5];
  const snapDown = (v: number) => {
    const p = 10 ** Math.floor(Math.log10(v));
    return (
      [...snaps]
        .reverse()
        .map(m => m * p)
        .find(c => c <= v) ?? p
    );
  };
  const snapUp = (v: number) => {
    const p = 10 ** Math.floor(Math.log10(v));
    return [...snaps, 10].map(m => m * p).find(c => c >= v)!;
  };
  const lo = all.length ? snapDown(Math.min(...all)) : 0.001;
  const hi = all.length ? snapUp(Math.max(...all)) : 0.1;
  const [logLo, logHi] = [Math.log10(lo), Math.log10(Math.max(hi, lo * 2))];
  const xOf = (step: number) => margin.left + (step / steps) * plotW;
  const yOf = (v: number) => margin.top + (1 - (Math.log10(v) - logLo) / (logHi - logLo)) * plotH;

  ctx.font = FONT;
  ctx.lineWidth = 1;
  // Grid and y ticks at 1, 2, 5 × 10^k.
  ctx.textAlign = 'right';
  ctx.textBaseline = 'middle';
  for (let p = Math.floor(logLo); p <= Math.ceil(logHi); p++) {
    for (const m of snaps) {
      const v = m * 10 ** p;
      if (v < lo * 0.999 || v > hi * 1.001) continue;
      const y = yOf(v);
      ctx.strokeStyle = GRID_COLOR;
      ctx.beginPath();
      ctx.moveTo(margin.left, y);
      ctx.lineTo(margin.left + plotW, y);
      ctx.stroke();
      ctx.fillStyle = AXIS_COLOR;
      ctx.fillText(formatLoss(v), margin.left - 6, y);
    }
  }
  ctx.textAlign = 'center';
  ctx.textBaseline = 'top';
  for (const t of linearTicks(steps, 6)) {
    const x = xOf(t);
    ctx.strokeStyle = GRID_COLOR;
    ctx.beginPath();
    ctx.moveTo(x, margin.top);
    ctx.lineTo(x, margin.top + plotH);
    ctx.stroke();
    ctx.fillStyle = AXIS_COLOR;
    ctx.fillText(String(t), x, margin.top + plotH + 6);
  }
  ctx.strokeStyle = AXIS_COLOR;
  ctx.beginPath();
  ctx.moveTo(margin.left, margin.top);
  ctx.lineTo(margin.left, margin.top + plotH);
  ctx.lineTo(margin.left + plotW, margin.top + plotH);
  ctx.stroke();

  // Axis titles.
  ctx.fillStyle = '#2b3140';
  ctx.fillText('training step', margin.left + plotW / 2, height - 18);
  ctx.save();
  ctx.translate(14, margin.top + plotH / 2);
  ctx.rotate(-Math.PI / 2);
  ctx.textBaseline = 'middle';
  ctx.fillText('loss (mean squared error, log scale)', 0, 0);
  ctx.restore();

  // Curves.
  ctx.save();
  ctx.beginPath();
  ctx.rect(margin.left, margin.top, plotW, plotH);
  ctx.clip();
  ctx.lineJoin = 'round';
  for (const s of series) {
    ctx.strokeStyle = s.color;
    ctx.lineWidth = s.width;
    ctx.globalAlpha = s.alpha;
    ctx.beginPath();
    s.values.forEach((v, i) => {
      const [x, y] = [xOf(i + 1), yOf(Math.max(v, lo))];
      if (i === 0) ctx.moveTo(x, y);
      else ctx.lineTo(x, y);
    });
    ctx.stroke();
  }
  ctx.restore();

  // Legend, top right, one entry per series.
  ctx.textAlign = 'left';
  ctx.textBaseline = 'middle';
  let x = margin.left + plotW;
  for (const s of [...series].reverse()) {
    const last = s.values.length ? `  ${s.values[s.values.length - 1].toFixed(4)}` : '';
    const text = `${s.label}${last}`;
    x -= ctx.measureText(text).width + 28;
    ctx.fillStyle = s.color;
    ctx.fillRect(x, 9, 14, 4);
    ctx.fillStyle = '#2b3140';
    ctx.fillText(text, x + 18, 11);
  }
}

/**
 * Draws `count` images of `size`×`size` side by side, scaled to the canvas
 * height, from float data in [0, 1] laid out [count, size, size, channels].
 */
export function drawImageRow(
  canvas: HTMLCanvasElement,
  data: Float32Array,
  count: number,
  size: number,
  channels: 1 | 3,
  gap: number,
): void {
  const [ctx, , height] = context2d(canvas);
  const tile = document.createElement('canvas');
  tile.width = size;
  tile.height = size;
  const tileCtx = tile.getContext('2d')!;
  const image = tileCtx.createImageData(size, size);
  ctx.imageSmoothingEnabled = false;
  for (let n = 0; n < count; n++) {
    for (let p = 0; p < size * size; p++) {
      const base = (n * size * size + p) * channels;
      for (let c = 0; c < 3; c++) {
        image.data[p * 4 + c] = 255 * data[base + (channels === 3 ? c : 0)];
      }
      image.data[p * 4 + 3] = 255;
    }
    tileCtx.putImageData(image, 0, 0);
    ctx.drawImage(tile, n * (height + gap), 0, height, height);
  }
}
