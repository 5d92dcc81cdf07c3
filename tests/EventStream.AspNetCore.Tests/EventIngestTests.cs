using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using EventStream.Tests;
using Microsoft.AspNetCore.Builder;

namespace EventStream.AspNetCore.Tests;

/// <summary>The HTTP door over a real Kestrel server: every answer it gives, and that nothing posted is lost.</summary>
public sealed class EventIngestTests
{
    private static string Envelope(string id, long timestamp = 1_700_000_000_000, string data = """{"url":"/home"}""") =>
        $$"""{"id":"{{id}}","type":"page_view","source":"example.com","timestamp":{{timestamp}},"data":{{data}}}""";

    private static ByteArrayContent Body(string text, string contentType = "application/json") => Body(Encoding.UTF8.GetBytes(text), contentType);

    private static ByteArrayContent Body(byte[] bytes, string contentType = "application/json")
    {
        var content = new ByteArrayContent(bytes);
        content.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType);
        return content;
    }

    private static async Task<JsonElement> JsonOf(HttpResponseMessage response) =>
        JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.Clone();

    [Fact]
    public async Task A_json_array_of_envelopes_is_admitted_and_delivered()
    {
        await using var server = await IngestServer.StartAsync();

        var response = await server.Client.PostAsync("/events", Body($"[{Envelope("a")},{Envelope("b")},{Envelope("c")}]"));

        response.StatusCode.Should().Be(HttpStatusCode.Accepted);
        var body = await JsonOf(response);
        body.GetProperty("accepted").GetInt32().Should().Be(3);
        body.GetProperty("rejected").GetArrayLength().Should().Be(0);
        await TestSupport.Eventually(() => server.Delivered.Count == 3, "the three events reach the sink");
        server.Delivered.Select(e => e.Id).Should().Equal("a", "b", "c");
        server.Delivered.First().GetString("url").Should().Be("/home");
    }

    [Fact]
    public async Task Ndjson_lines_are_read_one_by_one_and_a_bad_line_is_dead_lettered_with_its_text_and_the_field()
    {
        await using var server = await IngestServer.StartAsync();
        var missingId = """{"type":"page_view","source":"example.com","timestamp":1,"data":{}}""";

        var response = await server.Client.PostAsync("/events", Body($"{Envelope("a")}\r\n\n{missingId}\n{Envelope("c")}\n", "application/x-ndjson"));

        response.StatusCode.Should().Be(HttpStatusCode.Accepted);
        var body = await JsonOf(response);
        body.GetProperty("accepted").GetInt32().Should().Be(2);
        var rejected = body.GetProperty("rejected").EnumerateArray().Single();
        rejected.GetProperty("index").GetInt32().Should().Be(1);
        rejected.GetProperty("error").GetString().Should().Contain("line 3").And.Contain("id");

        // Nothing lost: posted = admitted + dead-lettered.
        await TestSupport.Eventually(() => server.Delivered.Count == 2, "the good lines are delivered");
        var dead = await server.Pipeline.DeadLetters.ListAsync("events");
        dead.Should().ContainSingle().Which.Event.Should().Be(missingId);
        dead[0].Stage.Should().Be("ingest");
        dead[0].Message.Should().StartWith("element 1: line 3:");
    }

    [Fact]
    public async Task Invalid_utf8_or_a_lone_surrogate_in_an_element_rejects_that_element_not_the_server()
    {
        // The dashboard's door answered an empty 500 for both.
        await using var server = await IngestServer.StartAsync();
        var bytes = new List<byte>();
        bytes.AddRange(Encoding.UTF8.GetBytes("["));
        bytes.AddRange(Encoding.UTF8.GetBytes(Envelope("good")));
        bytes.AddRange(Encoding.UTF8.GetBytes(",{\"id\":\"a"));
        bytes.AddRange(new byte[] { 0xFF, 0xFE });
        bytes.AddRange(Encoding.UTF8.GetBytes("\",\"type\":\"t\",\"source\":\"s\",\"timestamp\":1,\"data\":{}},"));
        bytes.AddRange(Encoding.UTF8.GetBytes(Envelope("\\ud800")));
        bytes.AddRange(Encoding.UTF8.GetBytes("]"));

        var response = await server.Client.PostAsync("/events", Body([.. bytes]));

        response.StatusCode.Should().Be(HttpStatusCode.Accepted);
        var rejected = (await JsonOf(response)).GetProperty("rejected").EnumerateArray().ToList();
        rejected.Select(r => r.GetProperty("index").GetInt32()).Should().Equal(1, 2);
        rejected[0].GetProperty("error").GetString().Should().Be("not valid UTF-8 at byte 9 of the element");
        rejected[1].GetProperty("error").GetString().Should().NotBeNullOrEmpty();
        (await server.Pipeline.DeadLetters.CountAsync("events")).Should().Be(2);

        (await server.Client.PostAsync("/events", Body($"[{Envelope("after")}]"))).StatusCode.Should().Be(HttpStatusCode.Accepted, "the server still serves");
    }

    [Fact]
    public async Task A_batch_with_no_usable_element_is_400_with_each_error_and_the_elements_are_kept()
    {
        await using var server = await IngestServer.StartAsync();

        var response = await server.Client.PostAsync("/events", Body("""[{"id":"x"}, 42, null]"""));

        response.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        response.Content.Headers.ContentType!.MediaType.Should().Be("application/problem+json");
        var problem = await JsonOf(response);
        problem.GetProperty("title").GetString().Should().Be("No usable event in the batch");
        problem.GetProperty("errors").GetArrayLength().Should().Be(3);
        (await server.Pipeline.DeadLetters.CountAsync("events")).Should().Be(3, "each bad element is dead-lettered: nothing posted is lost");
    }

    [Theory]
    [InlineData("""{"id":"a"}""", "starts with a JSON startobject, not an array")]
    [InlineData("""[{"id":"a","type":"t","source":"s","timestamp":1,"data":{"url":"/""", "ends inside the array")]
    [InlineData("""[{"id":"a"}] x""", "is not valid JSON")]
    [InlineData("", "The body is empty")]
    public async Task A_body_that_is_not_a_json_array_is_400_saying_where_and_nothing_is_admitted(string body, string where)
    {
        await using var server = await IngestServer.StartAsync();

        var response = await server.Client.PostAsync("/events", Body(body));

        response.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        (await JsonOf(response)).GetProperty("detail").GetString().Should().Contain(where);
        server.Pipeline.GetMetrics().Accepted.Should().Be(0);
    }

    [Fact]
    public async Task Deep_nesting_and_huge_numbers_are_clear_errors()
    {
        await using var server = await IngestServer.StartAsync();
        var deep = new string('[', 200) + new string(']', 200);

        var nested = await server.Client.PostAsync("/events", Body($"[{Envelope("a")},{deep}]"));
        nested.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        (await JsonOf(nested)).GetProperty("detail").GetString().Should().Contain("Element 1").And.Contain("depth");

        var huge = await server.Client.PostAsync("/events", Body($"[{Envelope("a")},{Envelope("b", timestamp: 0).Replace("\"timestamp\":0", "\"timestamp\":1e400", StringComparison.Ordinal)}]"));
        huge.StatusCode.Should().Be(HttpStatusCode.Accepted);
        (await JsonOf(huge)).GetProperty("rejected")[0].GetProperty("error").GetString().Should().Contain("$.timestamp");
    }

    [Theory]
    [InlineData("text/plain")]
    [InlineData("application/x-www-form-urlencoded")]
    [InlineData("multipart/form-data; boundary=x")]
    [InlineData("application/json; charset=latin1")]
    public async Task A_body_a_cross_site_form_could_post_is_415(string contentType)
    {
        await using var server = await IngestServer.StartAsync();

        var response = await server.Client.PostAsync("/events", Body($"[{Envelope("a")}]", contentType));

        response.StatusCode.Should().Be(HttpStatusCode.UnsupportedMediaType);
        (await JsonOf(response)).GetProperty("title").GetString().Should().Be("Unsupported content type");
        server.Pipeline.GetMetrics().Accepted.Should().Be(0);
    }

    [Fact]
    public async Task A_body_over_the_limit_is_413_by_its_length_or_while_it_is_read()
    {
        await using var server = await IngestServer.StartAsync(o => o.MaxBodyBytes = 10_000);
        var big = "[" + string.Join(",", Enumerable.Range(0, 200).Select(i => Envelope("e" + i))) + "]";

        (await server.Client.PostAsync("/events", Body(big))).StatusCode.Should().Be(HttpStatusCode.RequestEntityTooLarge);

        // No Content-Length (chunked), sent a chunk at a time over a raw socket, and then nothing more: the answer comes
        // once the limit is passed, while the body is still open (the rest is never sent, so never read). A raw socket,
        // because HttpClient would go on sending and could fail on the closed connection before it reads the answer.
        using var tcp = new System.Net.Sockets.TcpClient();
        await tcp.ConnectAsync(server.Client.BaseAddress!.Host, server.Client.BaseAddress.Port);
        var socket = tcp.GetStream();
        await socket.WriteAsync(Encoding.ASCII.GetBytes("POST /events HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"));
        var bytes = Encoding.UTF8.GetBytes(big);
        for (var offset = 0; offset < 12_000; offset += 1_000)
        {
            await socket.WriteAsync(Encoding.ASCII.GetBytes("3E8\r\n"));
            await socket.WriteAsync(bytes.AsMemory(offset, 1_000));
            await socket.WriteAsync("\r\n"u8.ToArray());
            await socket.FlushAsync();
        }

        using var reader = new StreamReader(socket, Encoding.ASCII);
        var answer = await reader.ReadToEndAsync().WaitAsync(TimeSpan.FromSeconds(30));
        answer.Should().StartWith("HTTP/1.1 413").And.Contain("the limit of 10000 bytes");
        server.Pipeline.GetMetrics().Accepted.Should().Be(0);
    }

    [Fact]
    public async Task A_batch_larger_than_the_threshold_is_413_not_a_429_it_could_never_get_past()
    {
        await using var server = await IngestServer.StartAsync(pipeline: o => o.BackpressureThreshold = 10);

        var response = await server.Client.PostAsync("/events", Body("[" + string.Join(",", Enumerable.Range(0, 11).Select(i => Envelope("e" + i))) + "]"));

        response.StatusCode.Should().Be(HttpStatusCode.RequestEntityTooLarge);
        (await JsonOf(response)).GetProperty("detail").GetString().Should().Contain("at most 10");
    }

    [Fact]
    public async Task A_full_pipeline_is_429_with_a_whole_second_retry_after()
    {
        await using var server = await IngestServer.StartAsync(pipeline: o => o.BackpressureThreshold = 10, sinkOpen: false);
        (await server.Client.PostAsync("/events", Body("[" + string.Join(",", Enumerable.Range(0, 8).Select(i => Envelope("e" + i))) + "]"))).StatusCode.Should().Be(HttpStatusCode.Accepted);

        var response = await server.Client.PostAsync("/events", Body("[" + string.Join(",", Enumerable.Range(0, 5).Select(i => Envelope("f" + i))) + "]"));

        response.StatusCode.Should().Be(HttpStatusCode.TooManyRequests);
        response.Headers.RetryAfter!.Delta!.Value.TotalSeconds.Should().BeGreaterThanOrEqualTo(1).And.Subject.Should().Be(Math.Floor(response.Headers.RetryAfter.Delta.Value.TotalSeconds));
        server.OpenSink();
        await TestSupport.Eventually(() => server.Delivered.Count == 8, "the admitted batch drains");
    }

    [Fact]
    public async Task A_full_dead_letter_store_is_503_not_429()
    {
        await using var server = await IngestServer.StartAsync(store: new InMemoryDeadLetterStoreOptions { Capacity = 2 });
        (await server.Client.PostAsync("/events", Body("""[1, 2, 3]"""))).StatusCode.Should().Be(HttpStatusCode.BadRequest, "three bad elements fill the store");

        var response = await server.Client.PostAsync("/events", Body($"[{Envelope("a")}]"));

        response.StatusCode.Should().Be(HttpStatusCode.ServiceUnavailable);
        (await JsonOf(response)).GetProperty("title").GetString().Should().Be("The dead-letter store is full");
    }

    [Fact]
    public async Task A_stopped_pipeline_is_503()
    {
        await using var server = await IngestServer.StartAsync();
        await server.Pipeline.CompleteAsync();

        var response = await server.Client.PostAsync("/events", Body($"[{Envelope("a")}]"));

        response.StatusCode.Should().Be(HttpStatusCode.ServiceUnavailable);
        (await JsonOf(response)).GetProperty("title").GetString().Should().Be("The pipeline is stopping");
    }

    [Fact]
    public async Task The_application_s_rule_rejects_an_element_with_its_reason()
    {
        await using var server = await IngestServer.StartAsync(o => o.Validate = e => e.Timestamp > 2_000_000_000_000 ? "timestamp is in the future" : null);

        var response = await server.Client.PostAsync("/events", Body($"[{Envelope("a")},{Envelope("b", timestamp: 3_000_000_000_000)}]"));

        response.StatusCode.Should().Be(HttpStatusCode.Accepted);
        (await JsonOf(response)).GetProperty("rejected")[0].GetProperty("error").GetString().Should().Be("timestamp is in the future");
    }

    [Fact]
    public async Task An_element_the_application_refuses_is_answered_and_counted_but_not_dead_lettered()
    {
        var refusedOnMeter = 0L;
        using var listener = new System.Diagnostics.Metrics.MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Name == EventIngestMeter.Elements)
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
        {
            if (tags.ToArray().Any(t => t is { Key: "outcome", Value: "refused" }))
            {
                Interlocked.Add(ref refusedOnMeter, value);
            }
        });
        listener.Start();
        await using var server = await IngestServer.StartAsync(o =>
        {
            o.Refuse = e => e.Timestamp < 1_000 ? "older than the allowed lateness: it could only be late" : null;
            o.Validate = e => e.Timestamp > 2_000_000_000_000 ? "timestamp is in the future" : null;
        });
        server.OpenSink();

        var mixed = await server.Client.PostAsync("/events", Body($"[{Envelope("old", timestamp: 0)},{Envelope("a")},{Envelope("future", timestamp: 3_000_000_000_000)}]"));
        var onlyOld = await server.Client.PostAsync("/events", Body($"[{Envelope("old2", timestamp: 0)}]"));

        mixed.StatusCode.Should().Be(HttpStatusCode.Accepted);
        var rejected = (await JsonOf(mixed)).GetProperty("rejected");
        rejected.GetArrayLength().Should().Be(2);
        rejected[0].GetProperty("index").GetInt32().Should().Be(0);
        rejected[0].GetProperty("error").GetString().Should().Be("older than the allowed lateness: it could only be late");
        rejected[1].GetProperty("index").GetInt32().Should().Be(2);
        onlyOld.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        (await JsonOf(onlyOld)).GetProperty("detail").GetString().Should().Contain("older than the allowed lateness");

        // Only the element that failed Validate is kept; the two refused ones are counted, not stored.
        var kept = await server.Pipeline.DeadLetters.ListAsync("events");
        kept.Should().ContainSingle().Which.Message.Should().Contain("timestamp is in the future");
        listener.RecordObservableInstruments();
        Interlocked.Read(ref refusedOnMeter).Should().Be(2);
    }

    [Fact]
    public async Task A_bad_element_s_dead_letter_keeps_a_bounded_prefix_of_its_text_and_says_how_long_it_was()
    {
        await using var server = await IngestServer.StartAsync(o => o.MaxRawTextBytes = 100);
        var bad = "{\"id\":\"" + new string('x', 40_000) + "\"}";

        (await server.Client.PostAsync("/events", Body($"[{Envelope("a")},{bad}]"))).StatusCode.Should().Be(HttpStatusCode.Accepted);

        var entry = (await server.Pipeline.DeadLetters.ListAsync("events")).Single();
        ((string)entry.Event!).Should().Be(bad[..100]);
        entry.Message.Should().Contain($"its raw text is {bad.Length} bytes; the first 100 are kept");
    }

    [Fact]
    public async Task What_is_posted_adds_up_on_the_meter_admitted_plus_dead_lettered_and_refused_batches_apart()
    {
        var counts = new System.Collections.Concurrent.ConcurrentDictionary<string, long>();
        using var listener = new System.Diagnostics.Metrics.MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Name is EventIngestMeter.Elements or EventIngestMeter.Requests)
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
        {
            var tag = tags.ToArray().Single(t => t.Key is "outcome" or "status");
            counts.AddOrUpdate($"{instrument.Name}:{tag.Value}", value, (_, v) => v + value);
        });
        listener.Start();
        await using var server = await IngestServer.StartAsync(pipeline: o => o.BackpressureThreshold = 10, sinkOpen: false);

        var mixed = await server.Client.PostAsync("/events", Body($"[{Envelope("a")},1,{Envelope("b")},{Envelope("c")}]"));
        var full = await server.Client.PostAsync("/events", Body("[" + string.Join(",", Enumerable.Range(0, 8).Select(i => Envelope("f" + i))) + "]"));

        mixed.StatusCode.Should().Be(HttpStatusCode.Accepted);
        full.StatusCode.Should().Be(HttpStatusCode.TooManyRequests);
        counts.GetValueOrDefault(EventIngestMeter.Elements + ":admitted").Should().Be(3);
        counts.GetValueOrDefault(EventIngestMeter.Elements + ":dead_lettered").Should().Be(1);
        counts.GetValueOrDefault(EventIngestMeter.Elements + ":refused").Should().Be(8);
        counts.GetValueOrDefault(EventIngestMeter.Requests + ":202").Should().Be(1);
        counts.GetValueOrDefault(EventIngestMeter.Requests + ":429").Should().Be(1);

        // Posted in the admitted batch = admitted + dead-lettered, and the pipeline and the store say the same.
        server.Pipeline.GetMetrics().Accepted.Should().Be(3);
        (await server.Pipeline.DeadLetters.CountAsync("events")).Should().Be(1);
    }

    [Fact]
    public void Options_out_of_range_are_refused_when_the_endpoint_is_mapped_naming_each()
    {
        var app = WebApplication.CreateSlimBuilder().Build();

        var act = () => app.MapEventIngest<PipelineEvent>("/e", o => (o.MaxBodyBytes, o.MaxDepth) = (0, 0));

        act.Should().Throw<ArgumentException>().WithMessage("*MaxBodyBytes must be from 1 to 1073741824*(was 0)*MaxDepth must be positive (was 0)*");
        var tooLarge = () => app.MapEventIngest<PipelineEvent>("/f", o => o.MaxBodyBytes = 4L << 30);
        tooLarge.Should().Throw<ArgumentException>().WithMessage("*MaxBodyBytes must be from 1 to 1073741824*(was 4294967296)*");
    }
}
