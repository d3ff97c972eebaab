"""Writes PyTorch checkpoints for test/pipeline/checkpoint.test.ts, with the values torch holds dumped as
raw little-endian float32 so the TypeScript reader can be compared against torch itself.

    make_checkpoints.py small OUT_DIR      all small fixtures + OUT_DIR/manifest.json
    make_checkpoints.py big OUT_DIR MB     OUT_DIR/big.ckpt of about MB megabytes

Never loads a checkpoint it did not just write; the hostile pickles are only ever written, except one
copy with a different marker that is loaded here to prove the payload really runs when unpickled.
"""
import collections
import json
import os
import pickle
import struct
import sys
import zipfile

import torch


def f32_bytes(t):
    flat = t.detach().to(torch.float32).contiguous().reshape(-1)
    return struct.pack('<%df' % flat.numel(), *flat.tolist())


def save_expected(out, stem, sd):
    """Dumps every tensor of sd as float32 and returns the manifest entries, in state-dict order."""
    entries = []
    exp_dir = os.path.join(out, 'expected', stem)
    os.makedirs(exp_dir, exist_ok=True)
    for i, (name, t) in enumerate(sd.items()):
        path = os.path.join(exp_dir, '%d.f32' % i)
        with open(path, 'wb') as f:
            f.write(f32_bytes(t))
        entries.append({
            'name': name,
            'dtype': str(t.dtype).replace('torch.', ''),
            'shape': list(t.shape),
            'stride': list(t.stride()),
            'offset': t.storage_offset(),
            'parameter': isinstance(t, torch.nn.Parameter),
            'expected': os.path.relpath(path, out),
        })
    return entries


def build_state_dict():
    torch.manual_seed(1234)
    module = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.BatchNorm1d(3))
    module(torch.randn(5, 4))  # so the BatchNorm buffers are not just zeros and ones
    sd = module.state_dict()  # OrderedDict with _metadata, int64 num_batches_tracked scalar
    sd['f16'] = torch.randn(5, 7).half()
    sd['f16_special'] = torch.tensor([6e-8, 1e-5, 65504.0, -0.0, float('inf'), float('nan')]).half()
    sd['bf16'] = (torch.randn(3, 5) * 100).bfloat16()
    sd['f64'] = torch.randn(4).double() * 1e3
    sd['f32_special'] = torch.tensor([float('nan'), float('inf'), float('-inf'), -0.0, 1e-40])
    sd['i64'] = torch.tensor([0, -5, 2 ** 40, 7, -(2 ** 50)])
    sd['i32'] = torch.tensor([[1, -2], [2 ** 30, 4]], dtype=torch.int32)
    sd['u8'] = torch.tensor([0, 1, 254, 255], dtype=torch.uint8)
    sd['flags'] = torch.tensor([True, False, True])
    base = torch.randn(6, 5)
    sd['base'] = base
    sd['transposed'] = base.t()  # shares base's storage, non-contiguous
    sd['slice'] = base[2:]  # shares it with a storage offset
    sd['column'] = base[:, 3]  # stride 5, offset 3
    sd['expanded'] = base[1:2].expand(4, 5)  # stride 0
    sd['permuted'] = torch.randn(2, 3, 4).permute(2, 0, 1)
    half = torch.randn(4, 6).half()
    sd['half'] = half
    sd['half_view'] = half.t()[1:]  # float16 view with offset and transposed strides
    sd['param'] = torch.nn.Parameter(torch.randn(3, 3))
    sd['param_frozen'] = torch.nn.Parameter(torch.randn(2), requires_grad=False)
    sd['empty'] = torch.empty(0, 3)
    sd['scalar'] = torch.tensor(3.25)
    return sd


def local_data_offset(path, info):
    with open(path, 'rb') as f:
        f.seek(info.header_offset)
        header = f.read(30)
    name_len, extra_len = struct.unpack('<HH', header[26:30])
    return info.header_offset + 30 + name_len + extra_len


class Evil:
    """Unpickling this runs a shell command: what a hostile checkpoint does to torch.load."""

    def __init__(self, command):
        self.command = command

    def __reduce__(self):
        return (os.system, (self.command,))


class EvalEvil:
    def __init__(self, source):
        self.source = source

    def __reduce__(self):
        return (eval, (self.source,))


class LoadEvil:
    def __reduce__(self):
        return (torch.load, ('/nonexistent',))


def evil_pickle(marker, protocol=2):
    data = pickle.dumps(collections.OrderedDict([('ok', 1.5), ('weight', Evil('touch ' + marker))]), protocol=protocol)
    # os.system pickles under its real module, posix; the classic payload names os.system, which
    # unpickles to the same function.
    data = data.replace(b'cposix\nsystem\n', b'cos\nsystem\n')
    return data


def write_zip(path, folder, records, compression=zipfile.ZIP_STORED):
    with zipfile.ZipFile(path, 'w', compression=compression) as z:
        for name, data in records:
            z.writestr(folder + '/' + name, data)


class FakeStorage:
    def __init__(self, key, numel, storage_type=None):
        self.key = key
        self.numel = numel
        self.storage_type = storage_type or torch.FloatStorage


class FakeTensor:
    """Pickles exactly like a tensor, with whatever view we ask for, so broken views can be written."""

    def __init__(self, storage, offset, size, stride):
        self.args = (storage, offset, tuple(size), tuple(stride), False, collections.OrderedDict())

    def __reduce__(self):
        return (torch._utils._rebuild_tensor_v2, self.args)


class FakePickler(pickle.Pickler):
    def persistent_id(self, obj):
        if isinstance(obj, FakeStorage):
            return ('storage', obj.storage_type, obj.key, 'cpu', obj.numel)
        return None


def fake_checkpoint(path, tensors, storages, extra=()):
    import io
    buf = io.BytesIO()
    FakePickler(buf, protocol=2).dump(collections.OrderedDict(tensors))
    records = [('data.pkl', buf.getvalue())] + [('data/' + k, v) for k, v in storages.items()] + [('version', b'3\n')] + list(extra)
    write_zip(path, 'bad', records)


def small(out):
    os.makedirs(out, exist_ok=True)
    manifest = {'torch': torch.__version__, 'files': {}}
    sd = build_state_dict()
    entries = save_expected(out, 'basic', sd)
    for stem, kwargs in [('basic', {}), ('basic_p4', {'pickle_protocol': 4}), ('basic_p5', {'pickle_protocol': 5})]:
        torch.save(sd, os.path.join(out, stem + '.ckpt'), **kwargs)
        manifest['files'][stem + '.ckpt'] = entries

    basic = os.path.join(out, 'basic.ckpt')
    with zipfile.ZipFile(basic) as z:
        infos = z.infolist()
        start_dir = z.start_dir
        # Re-packed deflated, under 'archive/': not what torch writes, but a zip tool might.
        with zipfile.ZipFile(os.path.join(out, 'deflated.ckpt'), 'w', compression=zipfile.ZIP_DEFLATED) as d:
            for info in infos:
                d.writestr('archive/' + info.filename.split('/', 1)[1], z.read(info.filename))
    manifest['files']['deflated.ckpt'] = entries
    storages = [i for i in infos if '/data/' in i.filename]
    largest = max(storages, key=lambda i: i.file_size)
    pkl = next(i for i in infos if i.filename.endswith('/data.pkl'))
    manifest['layout'] = {
        'size': os.path.getsize(basic),
        'storageCut': local_data_offset(basic, largest) + largest.file_size // 2,
        'directoryCut': start_dir + 30,
        'pickleByte': local_data_offset(basic, pkl) + pkl.file_size // 2,
        'entries': [i.filename for i in infos],
    }

    small_sd = collections.OrderedDict([('w', torch.arange(6.0).reshape(2, 3)), ('b', torch.tensor([0.5, -0.5]))])
    torch.save(small_sd, os.path.join(out, 'legacy.ckpt'), _use_new_zipfile_serialization=False)
    torch.save({'x': torch.zeros(2, dtype=torch.int8)}, os.path.join(out, 'int8.ckpt'))
    params = {'w': torch.nn.Parameter(torch.randn(2, 2)), 'b': torch.nn.Parameter(torch.randn(2))}
    torch.save(params, os.path.join(out, 'params.ckpt'))
    manifest['files']['params.ckpt'] = save_expected(out, 'params', params)
    wrapped = {
        'epoch': 3,
        'state_dict': small_sd,
        'optimizer': {'state': {0: {'momentum_buffer': torch.ones(2)}}, 'param_groups': [{'lr': 0.1, 'params': [0]}]},
        'ema': {'w': torch.full((2, 3), 7.0)},
    }
    torch.save(wrapped, os.path.join(out, 'wrapped.ckpt'))
    manifest['files']['wrapped.ckpt'] = save_expected(out, 'wrapped', small_sd)
    manifest['files']['wrapped.ckpt#ema'] = save_expected(out, 'wrapped_ema', wrapped['ema'])
    torch.save([torch.ones(2)], os.path.join(out, 'list.ckpt'))

    # Hostile pickles inside otherwise well-formed archives.
    marker = os.path.join(out, 'PWNED')
    write_zip(os.path.join(out, 'evil_os.ckpt'), 'evil_os', [('data.pkl', evil_pickle(marker)), ('version', b'3\n')])
    control = os.path.join(out, 'control-marker')
    pickle.loads(evil_pickle(control))  # our own payload with another marker: proves it would run
    manifest['payloadRuns'] = os.path.exists(control)
    os.remove(control)
    eval_data = pickle.dumps({'w': EvalEvil("__import__('os').system('touch %s')" % marker)}, protocol=4)
    write_zip(os.path.join(out, 'evil_eval.ckpt'), 'archive', [('data.pkl', eval_data), ('version', b'3\n')])
    load_data = pickle.dumps({'w': LoadEvil()}, protocol=2)
    write_zip(os.path.join(out, 'evil_torchload.ckpt'), 'archive', [('data.pkl', load_data), ('version', b'3\n')])
    manifest['marker'] = marker

    write_zip(os.path.join(out, 'nopickle.ckpt'), 'archive', [('version', b'3\n'), ('data/0', b'\0' * 16)])

    sixteen = struct.pack('<4f', 1, 2, 3, 4)
    fake_checkpoint(os.path.join(out, 'bad_overrun.ckpt'), [('weight', FakeTensor(FakeStorage('0', 4), 0, (5,), (1,)))], {'0': sixteen})
    fake_checkpoint(os.path.join(out, 'bad_offset.ckpt'), [('weight', FakeTensor(FakeStorage('0', 4), 2, (2, 2), (1, 1)))], {'0': sixteen})
    fake_checkpoint(os.path.join(out, 'bad_negstride.ckpt'), [('weight', FakeTensor(FakeStorage('0', 4), 3, (2,), (-1,)))], {'0': sixteen})
    fake_checkpoint(os.path.join(out, 'bad_shortstorage.ckpt'), [('weight', FakeTensor(FakeStorage('0', 100), 0, (4,), (1,)))], {'0': sixteen})
    fake_checkpoint(os.path.join(out, 'bad_nostorage.ckpt'), [('weight', FakeTensor(FakeStorage('7', 4), 0, (4,), (1,)))], {'0': sixteen})
    fake_checkpoint(os.path.join(out, 'bad_rank.ckpt'), [('weight', FakeTensor(FakeStorage('0', 4), 0, (2, 2), (1,)))], {'0': sixteen})
    fake_checkpoint(os.path.join(out, 'good_fake.ckpt'), [('weight', FakeTensor(FakeStorage('0', 4), 1, (3,), (1,)))], {'0': sixteen})

    # As torch 2.x on a big-endian machine writes: a byteorder record and big-endian storages.
    fake_checkpoint(
        os.path.join(out, 'big_endian.ckpt'),
        [
            ('f', FakeTensor(FakeStorage('0', 4), 0, (2, 2), (1, 2))),
            ('h', FakeTensor(FakeStorage('1', 3, torch.HalfStorage), 0, (3,), (1,))),
            ('q', FakeTensor(FakeStorage('2', 2, torch.LongStorage), 0, (2,), (1,))),
            ('d', FakeTensor(FakeStorage('3', 1, torch.DoubleStorage), 0, (), ())),
        ],
        {'0': struct.pack('>4f', 1, 2, 3, 4), '1': struct.pack('>3e', 0.5, -2, 65504), '2': struct.pack('>2q', -3, 2 ** 40), '3': struct.pack('>d', 1.25)},
        extra=[('byteorder', b'big')],
    )

    with open(os.path.join(out, 'random.ckpt'), 'wb') as f:
        f.write(bytes((i * 7919 + 13) % 251 for i in range(100000)))
    open(os.path.join(out, 'empty.ckpt'), 'wb').close()

    with open(os.path.join(out, 'manifest.json'), 'w') as f:
        json.dump(manifest, f, indent=1)


def big(out, megabytes):
    os.makedirs(out, exist_ok=True)
    sd = collections.OrderedDict()
    n = 16 * 1024 * 1024  # 64 MiB of float32; values i/4 are exact in float32 below 2^24
    sd['big'] = torch.arange(n, dtype=torch.float32) * 0.25
    remaining = megabytes * 1024 * 1024 - n * 4
    i = 0
    while remaining > 0:
        count = min(8 * 1024 * 1024, remaining // 4)
        sd['fill%d' % i] = torch.full((count,), float(i))
        remaining -= count * 4
        i += 1
    # 20 MiB of float16, more than one read chunk, transposed: exercises the split reads.
    sd['big_half_t'] = (torch.arange(4096 * 2560, dtype=torch.float32) % 2048).half().reshape(4096, 2560).t()
    torch.save(sd, os.path.join(out, 'big.ckpt'))


if __name__ == '__main__':
    if sys.argv[1] == 'small':
        small(sys.argv[2])
    elif sys.argv[1] == 'big':
        big(sys.argv[2], int(sys.argv[3]))
    else:
        raise SystemExit('usage: make_checkpoints.py small OUT | big OUT MB')
