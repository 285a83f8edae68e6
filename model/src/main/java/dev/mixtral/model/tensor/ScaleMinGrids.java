package dev.mixtral.model.tensor;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * The stretched-grid search of {@link KQuants#fitScaleMin}, eight grids side by side: lane k of every vector
 * is grid {@code first + k}. Each lane sums over the values in the scalar loop's order with the same float
 * operations, so every grid gets the very same levels, scale, min and error; only independent work runs in
 * parallel. Grids are not fully independent (a grid that wins moves the min the next ones are laid from), so
 * the lanes are speculative: after the first lane that wins, the search resumes at the grid after it.
 */
final class ScaleMinGrids {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_256;
    private static final int LANES = F.length();
    /** 1.5 × 2<sup>23</sup>: adding and subtracting it rounds a float below 2<sup>22</sup> to an integer, ties to even (as {@code Math.rint}). */
    private static final float RINT_MAGIC = 12582912f;
    /** Grid positions below this magnitude round exactly with {@link #RINT_MAGIC}; larger ones take the scalar path. */
    private static final float EXACT_LIMIT = 0x1.0p21f;

    private final float[] levels = new float[32 * LANES];
    private final float[] iscales = new float[LANES];
    private final float[] sumL = new float[LANES], sumL2 = new float[LANES], sumXL = new float[LANES];
    private final float[] scales = new float[LANES], mins = new float[LANES], errors = new float[LANES];

    static final ThreadLocal<ScaleMinGrids> SCRATCH = ThreadLocal.withInitial(ScaleMinGrids::new);

    /** The search state: the best error, its scale and min; updated in place. */
    static final class Best {
        float error, scale, min;
    }

    /**
     * Tries grids {@code first .. nstep} as {@link KQuants#fitScaleMin}'s loop does, from {@code best}; returns
     * the first grid not done (when grid positions get too large to round exactly here), {@code nstep + 1}
     * when all are done.
     */
    int search(int n, int nmax, float[] x, int xOff, float[] weights, int[] outLevels, int lOff, float sumW, float sumX,
               float dataMin, float max, float rmin, float rdelta, int first, int nstep, Best best) {
        if (n > 32 || Float.isNaN(sumW) || Float.isNaN(sumX)) return first; // NaN values: the scalar path's integer casts
        int s = first;
        while (s <= nstep) {
            float min = best.min;
            float reach = Math.max(Math.abs(max - min), Math.abs(dataMin - min));
            for (int k = 0; k < LANES; k++) iscales[k] = (rmin + rdelta * (s + k) + nmax) / (max - min);
            for (int k = 0; k < LANES; k++) {
                if (!(Math.abs(iscales[k]) * reach < EXACT_LIMIT)) return s; // also catches NaN and infinities
            }
            FloatVector iscale = FloatVector.fromArray(F, iscales, 0);
            FloatVector sL = FloatVector.zero(F), sL2 = FloatVector.zero(F), sXL = FloatVector.zero(F);
            float top = nmax;
            for (int i = 0; i < n; i++) {
                float xi = x[xOff + i];
                FloatVector l = iscale.mul(xi - min).add(RINT_MAGIC).sub(RINT_MAGIC).max(0f).min(top);
                l.intoArray(levels, i * LANES);
                FloatVector wl = l.mul(weights[i]);
                sL = sL.add(wl);
                sL2 = sL2.add(wl.mul(l));
                sXL = sXL.add(wl.mul(xi));
            }
            sL.intoArray(sumL, 0);
            sL2.intoArray(sumL2, 0);
            sXL.intoArray(sumXL, 0);
            for (int k = 0; k < LANES; k++) {
                float det = sumW * sumL2[k] - sumL[k] * sumL[k];
                float thisScale = (sumW * sumXL[k] - sumX * sumL[k]) / det;
                float thisMin = (sumL2[k] * sumX - sumL[k] * sumXL[k]) / det;
                if (thisMin > 0) {
                    thisMin = 0;
                    thisScale = sumXL[k] / sumL2[k];
                }
                scales[k] = thisScale;
                mins[k] = det > 0 ? thisMin : Float.NaN; // NaN: this grid is skipped, as the scalar loop skips it
            }
            FloatVector sc = FloatVector.fromArray(F, scales, 0), mn = FloatVector.fromArray(F, mins, 0);
            FloatVector err = FloatVector.zero(F);
            for (int i = 0; i < n; i++) {
                FloatVector diff = sc.mul(FloatVector.fromArray(F, levels, i * LANES)).add(mn).sub(x[xOff + i]);
                err = err.add(diff.mul(diff).mul(weights[i]));
            }
            err.intoArray(errors, 0);
            int lanes = Math.min(LANES, nstep + 1 - s);
            int won = -1;
            for (int k = 0; k < lanes && won < 0; k++) {
                if (!Float.isNaN(mins[k]) && errors[k] < best.error) won = k;
            }
            if (won < 0) {
                s += lanes;
                continue;
            }
            for (int i = 0; i < n; i++) outLevels[lOff + i] = (int) levels[i * LANES + won];
            best.error = errors[won];
            best.scale = scales[won];
            best.min = mins[won];
            s += won + 1;
        }
        return s;
    }
}
