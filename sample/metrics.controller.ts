import { Controller, Get, Header } from '@nestjs/common';
import { register } from 'prom-client';

/**
 * `GET /metrics` in Prometheus text format: prom-client's registry, where the module registers
 * its `websocket_*` metrics. (An app that already uses `PrometheusModule` from
 * @willsoto/nestjs-prometheus gets the same metrics on its own `/metrics` route.)
 */
@Controller('metrics')
export class MetricsController {
  @Get()
  @Header('Content-Type', register.contentType)
  metrics(): Promise<string> {
    return register.metrics();
  }
}
