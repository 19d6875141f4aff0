#!/usr/bin/env node
// An independent test charger: ocpp-rpc in strict mode, which validates every
// message both ways against the official OCPP JSON schemas (date-time formats
// included), so a payload our gateway gets wrong is refused here.
//
//   node charger.js URL IDENTITY PASSWORD PROTOCOL
//
// Prints one JSON object per line on stdout: {"event": "open"}, every call the
// gateway makes ({"event": "call", "method", "params"}), the results of our
// own calls, and any strict validation failure. Reads commands, one JSON
// object per line, on stdin:
//   {"call": METHOD, "params": {...}, "tag": T}   make a call; prints result or callError
//   {"close": true}                                 disconnect
//   {"connect": true}                               connect again (no BootNotification)
//   {"exit": true}
'use strict';

const readline = require('node:readline');
const { RPCClient, createRPCError, createValidator } = require('ocpp-rpc');

const [url, identity, password, protocol] = process.argv.slice(2);
const print = (event) => process.stdout.write(JSON.stringify(event) + '\n');

const CONFIGURATION_16 = [
    { key: 'ChargingScheduleMaxPeriods', readonly: true, value: '24' },
    { key: 'ChargingScheduleAllowedChargingRateUnit', readonly: true, value: 'Current' },
    { key: 'ChargeProfileMaxStackLevel', readonly: true, value: '8' },
];
const VARIABLES_201 = { PeriodsPerSchedule: '24', RateUnit: 'A', ProfileStackLevel: '8' };

const handlers16 = {
    SetChargingProfile: () => ({ status: 'Accepted' }),
    ClearChargingProfile: () => ({ status: 'Accepted' }),
    GetConfiguration: () => ({ configurationKey: CONFIGURATION_16 }),
    GetCompositeSchedule: () => ({ status: 'Rejected' }),
};

const handlers201 = {
    SetChargingProfile: () => ({ status: 'Accepted' }),
    ClearChargingProfile: () => ({ status: 'Accepted' }),
    GetVariables: ({ getVariableData }) => ({
        getVariableResult: getVariableData.map(({ component, variable }) => ({
            attributeStatus: 'Accepted',
            attributeValue: VARIABLES_201[variable.name],
            component,
            variable,
        })),
    }),
    GetCompositeSchedule: () => ({ status: 'Rejected' }),
};

const VARIABLES_21 = {
    'SmartChargingCtrlr/PeriodsPerSchedule': '24',
    'SmartChargingCtrlr/RateUnit': 'A',
    'SmartChargingCtrlr/ProfileStackLevel': '8',
    'SmartChargingCtrlr/SupportsUseLocalTime': 'true',
    'SmartChargingCtrlr/SupportsRandomizedDelay': 'true',
    'SmartChargingCtrlr/SupportedAdditionalPurposes': 'PriorityCharging',
    'ClockCtrlr/TimeZone': 'UTC',
};
const key21 = ({ component, variable }) => `${component.name}/${variable.name}`;

const handlers21 = {
    ...handlers201,
    GetVariables: ({ getVariableData }) => ({
        getVariableResult: getVariableData.map((item) => (key21(item) in VARIABLES_21
            ? { attributeStatus: 'Accepted', attributeValue: VARIABLES_21[key21(item)], component: item.component, variable: item.variable }
            : { attributeStatus: 'UnknownVariable', component: item.component, variable: item.variable })),
    }),
    SetVariables: ({ setVariableData }) => ({
        setVariableResult: setVariableData.map((item) => {
            const settable = key21(item) === 'ClockCtrlr/TimeZone';
            if (settable) VARIABLES_21[key21(item)] = item.attributeValue;
            return { attributeStatus: settable ? 'Accepted' : 'Rejected', component: item.component, variable: item.variable };
        }),
    }),
    UsePriorityCharging: () => ({ status: 'Accepted' }),
};

// ocpp-rpc 2.2.1 ships the OCPP 2.1 schemas under the ids the specification gives them
// (urn:BootNotificationRequest) but looks them up as urn:BootNotification.req, so in strict
// mode it would refuse every 2.1 message as having no schema. The same schemas, under the
// ids it looks for, make its strict mode check 2.1 as it checks 1.6 and 2.0.1.
const STRICT_21 = createValidator('ocpp2.1', require('ocpp-rpc/lib/schemas/ocpp2_1.json').map(
    (schema) => ({ ...schema, $id: schema.$id.replace(/Request$/, '.req').replace(/Response$/, '.conf') }),
));

let client = null;

async function connect() {
    client = new RPCClient({
        endpoint: url,
        identity,
        password,
        protocols: [protocol],
        strictMode: true,
        strictModeValidators: protocol === 'ocpp2.1' ? [STRICT_21] : [],
        reconnect: false,
        callTimeoutMs: 10000,
    });
    const handlers = { 'ocpp1.6': handlers16, 'ocpp2.1': handlers21 }[protocol] ?? handlers201;
    client.handle(({ method, params }) => {
        print({ event: 'call', method, params });
        const handler = handlers[method];
        if (!handler) {
            throw createRPCError('NotImplemented', `no handler for ${method}`);
        }
        return handler(params);
    });
    client.on('strictValidationFailure', ({ error, method, outbound, isCall }) => {
        print({ event: 'strictValidationFailure', method, outbound, isCall, message: error.message });
    });
    client.on('close', ({ code, reason }) => print({ event: 'closed', code, reason: String(reason) }));
    try {
        await client.connect();
        print({ event: 'open', protocol: client.protocol });
    } catch (error) {
        print({ event: 'connectError', message: error.message });
    }
}

async function command(line) {
    const order = JSON.parse(line);
    if (order.call) {
        try {
            const result = await client.call(order.call, order.params ?? {});
            print({ event: 'result', tag: order.tag, result });
        } catch (error) {
            print({ event: 'callError', tag: order.tag, code: error.rpcErrorCode, message: error.message });
        }
    } else if (order.close) {
        await client.close({ code: 1000 });
    } else if (order.connect) {
        await connect();
    } else if (order.exit) {
        if (client) await client.close({ force: true });
        process.exit(0);
    }
}

const lines = readline.createInterface({ input: process.stdin });
let queue = connect();
lines.on('line', (line) => { queue = queue.then(() => command(line)); });
lines.on('close', () => { queue.then(() => process.exit(0)); });
