"""NumPy's ``PCG64`` uniforms drawn by compiled code: the very numbers ``Generator.random`` gives,
faster (issue 25: drawing the vector env's 8 uniforms per env took half of CartPole's whole step).

``np.random.PCG64`` is a 128-bit LCG, ``x <- a x + c (mod 2^128)``, whose output is the XSL-RR of
the new state, ``rotr64(hi ^ lo, hi >> 58)``, and ``Generator.random`` turns a 64-bit output ``r``
into ``(r >> 11) * 2^-53``. NumPy steps one state at a time, each step waiting for the last
multiplication. :func:`fill_uniforms` runs :data:`LANES` states side by side instead: lane ``j``
produces outputs ``j, j + L, j + 2L, ...`` with the jumped constants ``a^L`` and ``c (a^(L-1) + ... +
1)``, so the multiplications overlap and the numbers, in NumPy's order, are the same bit for bit
(``tests/envs/test_pcg64.py`` compares them with ``Generator.random``, and the generator's state
afterwards). The generator's state is read and written back through ``bit_generator.state``, as
NumPy documents it; any other bit generator is drawn by NumPy.

The vector env's step draws eight numbers per env (:func:`lanes8_start`, :func:`lanes8_next`): eight
lanes, lane ``j`` giving number ``8 i + j`` to env ``i``, stepped as one vector of eight 128-bit
states (LLVM vector code: AVX-512 where the CPU has it, 32-bit limb products, no 128-bit multiply per
number). The same arithmetic mod 2^128, so the same numbers; at N = 4,096 the vector env's step took
about 25 us less than with four scalar lanes.
"""

from __future__ import annotations

from functools import lru_cache

import numba
import numpy as np
from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

from envs.jit_cache import freshen

LANES = 4
MASK64 = (1 << 64) - 1
MASK128 = (1 << 128) - 1
# below this many numbers NumPy's call is faster (reading and writing the state costs ~3.5 us)
MIN_COMPILED = 4096
MULTIPLIER = (2549297995355413924 << 64) + 4865540595714422341  # PCG's default 128-bit multiplier


@intrinsic
def _muladd128(typingctx, xhi, xlo, ahi, alo, chi, clo):
    """``(x * a + c) mod 2^128`` on (hi, lo) uint64 halves, in LLVM's native 128-bit integers."""
    sig = types.UniTuple(types.uint64, 2)(types.uint64, types.uint64, types.uint64, types.uint64, types.uint64,
                                          types.uint64)

    def codegen(context, builder, signature, args):
        i128, i64 = ir.IntType(128), ir.IntType(64)
        shift = ir.Constant(i128, 64)

        def join(hi, lo):
            return builder.or_(builder.shl(builder.zext(hi, i128), shift), builder.zext(lo, i128))

        x, a, c = join(args[0], args[1]), join(args[2], args[3]), join(args[4], args[5])
        r = builder.add(builder.mul(x, a), c)
        hi, lo = builder.trunc(builder.lshr(r, shift), i64), builder.trunc(r, i64)
        return context.make_tuple(builder, signature.return_type, [hi, lo])

    return sig, codegen


@numba.njit(cache=True, inline="always")
def _uniform(hi, lo):
    """``Generator.random``'s double from the state ``(hi, lo)`` just reached (XSL-RR output)."""
    x = hi ^ lo
    rot = hi >> np.uint64(58)
    out = (x >> rot) | (x << ((np.uint64(64) - rot) & np.uint64(63)))
    return np.float64(np.int64(out >> np.uint64(11))) * (1.0 / 9007199254740992.0)


@numba.njit(cache=True, inline="always")
def lanes_start(consts):
    """The four lanes' states from ``consts`` (see :func:`begin`): lane j after j + 1 steps."""
    mhi, mlo, ihi, ilo = consts[8], consts[9], consts[2], consts[3]
    h0, l0 = _muladd128(consts[0], consts[1], mhi, mlo, ihi, ilo)
    h1, l1 = _muladd128(h0, l0, mhi, mlo, ihi, ilo)
    h2, l2 = _muladd128(h1, l1, mhi, mlo, ihi, ilo)
    h3, l3 = _muladd128(h2, l2, mhi, mlo, ihi, ilo)
    return h0, l0, h1, l1, h2, l2, h3, l3


@numba.njit(cache=True, inline="always")
def lanes_next(lanes, consts):
    """The four lanes' next uniforms (NumPy's next four numbers) and the lanes jumped LANES steps."""
    h0, l0, h1, l1, h2, l2, h3, l3 = lanes
    jhi, jlo, chi, clo = consts[4], consts[5], consts[6], consts[7]
    draws = (_uniform(h0, l0), _uniform(h1, l1), _uniform(h2, l2), _uniform(h3, l3))
    h0, l0 = _muladd128(h0, l0, jhi, jlo, chi, clo)
    h1, l1 = _muladd128(h1, l1, jhi, jlo, chi, clo)
    h2, l2 = _muladd128(h2, l2, jhi, jlo, chi, clo)
    h3, l3 = _muladd128(h3, l3, jhi, jlo, chi, clo)
    return draws, (h0, l0, h1, l1, h2, l2, h3, l3)


W = 8  # lanes of lanes8_next: one env's eight uniforms
SCRATCH = 10  # consts[SCRATCH:SCRATCH + 20]: the eight lanes (hi x 8, lo x 8) and the jump by 8 (a^8, c8)
N_CONSTS = SCRATCH + 2 * W + 4


@intrinsic
def lanes8_next(typingctx, consts):
    """The eight lanes' uniforms (NumPy's next eight numbers) and the lanes jumped eight steps, the
    lanes kept in ``consts[SCRATCH:]`` (:func:`lanes8_start`); vector code over the eight lanes."""
    sig = types.UniTuple(types.float64, W)(consts)

    def codegen(context, builder, signature, args):
        i64, i32 = ir.IntType(64), ir.IntType(32)
        vt, dt = ir.VectorType(i64, W), ir.VectorType(ir.DoubleType(), W)
        data = context.make_array(signature.args[0])(context, builder, args[0]).data

        def at(k):
            return builder.gep(data, [ir.Constant(i64, k)])

        hi_p, lo_p = (builder.bitcast(at(SCRATCH + k), vt.as_pointer()) for k in (0, W))
        hi, lo = builder.load(hi_p, align=8), builder.load(lo_p, align=8)
        zeros = ir.Constant(ir.VectorType(i32, W), [0] * W)
        ahi, alo, chi, clo = (builder.shuffle_vector(builder.insert_element(ir.Constant(vt, ir.Undefined),
                              builder.load(at(SCRATCH + 2 * W + k)), ir.Constant(i32, 0)),
                              ir.Constant(vt, ir.Undefined), zeros) for k in range(4))

        def c(v):
            return ir.Constant(vt, [v] * W)

        x = builder.xor(hi, lo)  # _uniform's XSL-RR output, >> 11, * 2^-53
        fshr = cgutils.get_or_insert_function(builder.module, ir.FunctionType(vt, [vt, vt, vt]), "llvm.fshr.v8i64")
        out = builder.lshr(builder.call(fshr, [x, x, builder.lshr(hi, c(58))]), c(11))
        draws = builder.fmul(builder.uitofp(out, dt), ir.Constant(dt, [1.0 / 9007199254740992.0] * W))
        m32 = c(0xFFFFFFFF)  # (hi, lo) * (ahi, alo) + (chi, clo) mod 2^128; lo * alo from 32-bit halves
        a0, a1, b0, b1 = builder.and_(lo, m32), builder.lshr(lo, c(32)), builder.and_(alo, m32), builder.lshr(alo, c(32))
        p00, p01, p10, p11 = builder.mul(a0, b0), builder.mul(a0, b1), builder.mul(a1, b0), builder.mul(a1, b1)
        mid = builder.add(builder.add(builder.lshr(p00, c(32)), builder.and_(p01, m32)), builder.and_(p10, m32))
        new_lo = builder.or_(builder.and_(p00, m32), builder.shl(mid, c(32)))
        new_hi = builder.add(builder.add(p11, builder.lshr(p01, c(32))), builder.add(builder.lshr(p10, c(32)),
                                                                                     builder.lshr(mid, c(32))))
        new_hi = builder.add(new_hi, builder.add(builder.mul(hi, alo), builder.mul(lo, ahi)))
        lo2 = builder.add(new_lo, clo)
        hi2 = builder.add(builder.add(new_hi, chi), builder.zext(builder.icmp_unsigned("<", lo2, new_lo), vt))
        builder.store(hi2, hi_p, align=8)
        builder.store(lo2, lo_p, align=8)
        vals = [builder.extract_element(draws, ir.Constant(i32, j)) for j in range(W)]
        return context.make_tuple(builder, signature.return_type, vals)

    return sig, codegen


@numba.njit(cache=True, inline="always")
def lanes8_start(consts):
    """Write the eight lanes into ``consts[SCRATCH:]`` (lane j after j + 1 steps, as
    :func:`lanes_start`'s) and the jump by eight, (a^4)^2 and c4 a^4 + c4, from :func:`begin`'s
    constants. After the last :func:`lanes8_next`, ``(consts[SCRATCH + 3], consts[SCRATCH + W + 3])``
    (lane 3, one jump of 4 past the last number's state) is what :func:`end` takes."""
    h, lo = consts[0], consts[1]
    for j in range(W):
        h, lo = _muladd128(h, lo, consts[8], consts[9], consts[2], consts[3])
        consts[SCRATCH + j], consts[SCRATCH + W + j] = h, lo
    zero = np.uint64(0)
    consts[SCRATCH + 2 * W], consts[SCRATCH + 2 * W + 1] = _muladd128(consts[4], consts[5], consts[4], consts[5],
                                                                      zero, zero)
    consts[SCRATCH + 2 * W + 2], consts[SCRATCH + 2 * W + 3] = _muladd128(consts[6], consts[7], consts[4], consts[5],
                                                                          consts[6], consts[7])


@numba.njit(cache=True)
def _fill(consts, out):
    """``out`` (flat float64, length a multiple of LANES): the next numbers; returns the last lane's
    state (one jump past the generator's final state). The lanes are scalars: they stay in registers."""
    lanes = lanes_start(consts)
    for i in range(out.shape[0] // LANES):
        draws, lanes = lanes_next(lanes, consts)
        out[i * LANES], out[i * LANES + 1], out[i * LANES + 2], out[i * LANES + 3] = draws
    return lanes[6], lanes[7]


@lru_cache(maxsize=64)
def _jump(inc: int) -> tuple[int, int, int, np.ndarray]:
    """a^L, c (a^(L-1) + ... + 1) mod 2^128 (L steps of the LCG at once), a^-L mod 2^128, and the
    constants :func:`begin` returns with a zero state (it copies them and writes the state in)."""
    a, c = 1, 0
    for _ in range(LANES):
        a, c = (a * MULTIPLIER) & MASK128, (c * MULTIPLIER + inc) & MASK128
    consts = np.zeros(N_CONSTS, dtype=np.uint64)  # (and the scratch of lanes8_start)
    consts[:10] = [0, 0, inc >> 64, inc & MASK64, a >> 64, a & MASK64, c >> 64, c & MASK64, MULTIPLIER >> 64,
                   MULTIPLIER & MASK64]
    consts.setflags(write=False)
    return a, c, pow(a, -1, 1 << 128), consts


# id(bit generator) -> the state dict begin read, which end writes back (reading ``bit_generator.state``
# builds a new dict: 1-1.5 us, reading it once per draw instead of twice is 1-3 % of the vector env's
# step at N = 4,096)
_READ: dict[int, dict] = {}


def begin(generator: np.random.Generator, n: int) -> np.ndarray | None:
    """The constants a compiled draw of ``n`` numbers of ``generator`` reads (state, increment, the
    jump of :data:`LANES` steps, the multiplier, as uint64 halves, then :func:`lanes8_start`'s
    scratch), a new array, or None when NumPy draws them
    (not ``PCG64``, or ``n`` below :data:`MIN_COMPILED` or not a multiple of :data:`LANES`). After the
    draw, :func:`end` writes the generator's state."""
    bg = generator.bit_generator
    if type(bg) is not np.random.PCG64 or n < MIN_COMPILED or n % LANES:
        return None
    state = bg.state
    x = state["state"]["state"]
    consts = _jump(state["state"]["inc"])[3].copy()
    consts[0], consts[1] = x >> 64, x & MASK64
    _READ[id(bg)] = state
    return consts


def end(generator: np.random.Generator, hi: int, lo: int) -> None:
    """Set ``generator``'s state after a compiled draw whose last lane ended at ``(hi, lo)`` (one
    jump past the last number's state: ``(x - c) a^-L``); the rest of the state (increment, NumPy's
    buffered 32 bits) as :func:`begin` read it."""
    bg = generator.bit_generator
    state = _READ.pop(id(bg), None)
    if state is None:
        state = bg.state
    _, c, a_inv, _ = _jump(state["state"]["inc"])
    state["state"]["state"] = ((((int(hi) << 64) | int(lo)) - c) * a_inv) & MASK128
    bg.state = state


def fill_uniforms(generator: np.random.Generator, out: np.ndarray) -> np.ndarray:
    """``generator.random(out=out)``: the same numbers and the same state afterwards; compiled when
    :func:`begin` allows and ``out`` is C-contiguous float64, else NumPy's own call."""
    consts = begin(generator, out.size) if out.flags.c_contiguous and out.dtype == np.float64 else None
    if consts is None:
        return generator.random(out=out)
    hi, lo = _fill(consts, out.reshape(-1))
    end(generator, hi, lo)
    return out


freshen(__name__, ("envs",))  # numba's cache re-made when the code it calls changed (envs/jit_cache.py)
