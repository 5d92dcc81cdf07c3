using System.Net;
using System.Net.Sockets;
using System.Text;

namespace EventStream.Redis.Tests;

/// <summary>
/// A TCP proxy in front of a real Redis that passes every command through until the n-th command with a given name,
/// and forwards nothing a client sends after that one: a process behind it has that command executed, and every later
/// command of it (the apply of the batch it just read, say) never reaches Redis. Replies always pass. This is how a
/// test kills a worker between reading a batch and applying it without racing it.
/// </summary>
internal sealed class CutProxy : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly EndPoint _redis;
    private readonly string _command;
    private readonly int _cutAfter;
    private readonly CancellationTokenSource _stop = new();
    private readonly TaskCompletionSource _cut = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly List<Task> _pumps = [];
    private int _seen;

    public CutProxy(EndPoint redis, string command, int cutAfter)
    {
        _redis = redis;
        _command = command;
        _cutAfter = cutAfter;
        _listener.Start();
        _pumps.Add(AcceptAsync());
    }

    /// <summary>The address to give a client instead of Redis's.</summary>
    public string Configuration => $"127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}";

    /// <summary>Completes once the cut command has been forwarded; nothing a client sends is forwarded after it.</summary>
    public Task Cut => _cut.Task;

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        await Task.WhenAll(_pumps.ToArray()).ContinueWith(_ => { }, TaskScheduler.Default);
        _stop.Dispose();
    }

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient client;
            try
            {
                client = await _listener.AcceptTcpClientAsync(_stop.Token);
            }
            catch (Exception) when (_stop.IsCancellationRequested)
            {
                return;
            }

            var server = new TcpClient();
            await (_redis switch
            {
                IPEndPoint ip => server.ConnectAsync(ip),
                DnsEndPoint dns => server.ConnectAsync(dns.Host, dns.Port),
                _ => throw new NotSupportedException($"cannot proxy to {_redis}"),
            });
            lock (_pumps)
            {
                _pumps.Add(CommandsAsync(client, server));
                _pumps.Add(RepliesAsync(server, client));
            }
        }
    }

    private async Task RepliesAsync(TcpClient server, TcpClient client)
    {
        try
        {
            await server.GetStream().CopyToAsync(client.GetStream(), _stop.Token);
        }
        catch (Exception)
        {
            // a side closed: the other pump ends too
        }
        finally
        {
            client.Dispose();
            server.Dispose();
        }
    }

    /// <summary>Forwards whole RESP commands (arrays of bulk strings) until the cut, then reads and drops the rest.</summary>
    private async Task CommandsAsync(TcpClient client, TcpClient server)
    {
        var buffer = new List<byte>();
        var chunk = new byte[64 * 1024];
        var cut = false;
        try
        {
            var input = client.GetStream();
            var output = server.GetStream();
            while (true)
            {
                var read = await input.ReadAsync(chunk, _stop.Token);
                if (read == 0)
                {
                    return;
                }

                if (cut)
                {
                    continue;
                }

                buffer.AddRange(chunk.AsSpan(0, read));
                var forward = 0;
                while (!cut && TryParse(buffer, forward, out var end, out var name))
                {
                    forward = end;
                    if (string.Equals(name, _command, StringComparison.OrdinalIgnoreCase) && Interlocked.Increment(ref _seen) == _cutAfter)
                    {
                        cut = true;
                    }
                }

                await output.WriteAsync(buffer.GetRange(0, forward).ToArray(), _stop.Token);
                buffer.RemoveRange(0, forward);
                if (cut)
                {
                    _cut.TrySetResult();
                }
            }
        }
        catch (Exception)
        {
            // a side closed
        }
        finally
        {
            client.Dispose();
            server.Dispose();
        }
    }

    private static bool TryParse(List<byte> buffer, int start, out int end, out string name)
    {
        end = start;
        name = string.Empty;
        if (!TryLine(buffer, start, '*', out var parts, out var at))
        {
            return false;
        }

        for (var i = 0; i < parts; i++)
        {
            if (!TryLine(buffer, at, '$', out var length, out var data) || data + length + 2 > buffer.Count)
            {
                return false;
            }

            if (i == 0)
            {
                name = Encoding.ASCII.GetString(buffer.GetRange(data, length).ToArray());
            }

            at = data + length + 2;
        }

        end = at;
        return true;
    }

    private static bool TryLine(List<byte> buffer, int start, char marker, out int value, out int next)
    {
        value = 0;
        next = start;
        if (start >= buffer.Count)
        {
            return false;
        }

        if (buffer[start] != marker)
        {
            throw new InvalidDataException($"expected '{marker}' at byte {start} of a RESP command, found '{(char)buffer[start]}'");
        }

        for (var i = start + 1; i + 1 < buffer.Count; i++)
        {
            if (buffer[i] == '\r' && buffer[i + 1] == '\n')
            {
                value = int.Parse(Encoding.ASCII.GetString(buffer.GetRange(start + 1, i - start - 1).ToArray()), System.Globalization.CultureInfo.InvariantCulture);
                next = i + 2;
                return true;
            }
        }

        return false;
    }
}
